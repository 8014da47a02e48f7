"""Stand-in for pip's get-pip.py bootstrap script, for ansible-test's sanity virtual environments.

ansible-test bootstraps pip into each sanity venv by downloading get-pip.py from a CI file host
that machines without general internet access cannot reach (they reach PyPI only). This stand-in
does the same job from what the interpreter already has: ``ensurepip`` puts a pip into the venv,
then that pip installs the exact packages ansible-test asked for (``pip==X`` ...) from PyPI.
ansible-test runs it with the venv's interpreter and get-pip.py's arguments.
"""

import subprocess
import sys

# Options of get-pip.py that pip itself does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
arguments = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True)
