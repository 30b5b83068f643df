# Imports modules beside the main file (sys.path[0] is its directory), one importing another.
import sibling
from shouting import shout

print(sibling.NAME, shout("sibling imports"))
