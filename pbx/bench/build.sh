# Sourced by the benchmark scripts (ROOT set to the project root): which pbxd build they run.
#   PBXD_BUILD=compiled (the default): pbxd compiled with mypyc, `make compiled`, found through
#                                      PYTHONPATH ahead of the source install
#   PBXD_BUILD=pure:                   the Python source, as the rollout installs it on Windows
# pbxd's log says which one started ("... starting (Python 3.12.1, compiled build)").
PBXD_BUILD=${PBXD_BUILD:-compiled}
case $PBXD_BUILD in
compiled)
	[ -f "$ROOT/.pbxd-compiled/.built" ] || {
		echo "PBXD_BUILD=compiled, but $ROOT/.pbxd-compiled holds no build: run 'make compiled' first, or set PBXD_BUILD=pure" >&2
		exit 2
	}
	newer=$(find "$ROOT/pbx/src" "$ROOT/pbx/setup.py" "$ROOT/pbx/pyproject.toml" -newer "$ROOT/.pbxd-compiled/.built" \
		\( -name '*.py' -o -name '*.sql' -o -name '*.toml' \) -print -quit)
	[ -z "$newer" ] || {
		echo "PBXD_BUILD=compiled, but the compiled build is older than $newer: run 'make compiled' first" >&2
		exit 2
	}
	export PYTHONPATH="$ROOT/.pbxd-compiled/lib${PYTHONPATH:+:$PYTHONPATH}"
	;;
pure) ;;
*)
	echo "PBXD_BUILD is '$PBXD_BUILD': expected compiled or pure" >&2
	exit 2
	;;
esac
export PBXD_BUILD
