"""`executor rehearse`: a contest-shaped load against a deployment, and the capacity it implies."""
