"""The APIs of peers spoken beside this service's own: Piston v2 (piston.py) and Judge0 CE
(judge0.py), each a translation to and from ExecutionService.execute and nothing more."""
