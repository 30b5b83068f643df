"""Language plans: how to compile and run a submission in each language, as data."""
