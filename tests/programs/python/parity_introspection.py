# What a script sees of itself: argv, __file__ (its name), __name__, sys.path[0]'s last part,
# the main module's attributes, warnings, and the interpreter's flags.
import os
import sys
import warnings

print(sys.argv[0], sys.argv[1:], os.path.basename(__file__), __name__)
print(os.path.basename(sys.path[0]) == os.path.basename(os.getcwd()), __package__, __spec__)
print(type(__loader__).__name__, sorted(k for k in globals() if k.startswith("__")))
print(sys.flags.ignore_environment, sys.flags.no_user_site, sys.flags.dont_write_bytecode,
      sys.flags.utf8_mode, sys.dont_write_bytecode)
warnings.warn("a warning")
print(os.path.basename(sys.orig_argv[-3]), sys.orig_argv[-2:], sys.stdout.encoding)
