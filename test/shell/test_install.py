"""Installation: `cmake --install` puts every file where its tool looks, and the .deb built by CPack installs with
`dpkg -i` into a working vmsync, man page and completions.

The package is really installed with dpkg, dependency checks, triggers (man-db) and all, into this machine's
/usr, /var and /etc, but inside a private mount namespace where those three are overlays on a tmpfs: the test
sees a normally installed package and the machine keeps nothing of it. (Needs root, as dpkg does.)
"""
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("VMSYNC_BUILD_DIR", os.path.join(ROOT, "build"))
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}

INSTALLED = {
    "bin/vmsync",
    "bin/kubectl-vmsync",  # a symbolic link to vmsync: the kubectl plugin
    "bin/kubectl_complete-vmsync",  # kubectl's plugin completion
    "share/man/man1/vmsync.1",
    "share/bash-completion/completions/vmsync",
    "share/zsh/vendor-completions/_vmsync",
    "share/fish/vendor_completions.d/vmsync.fish",
}


def cache_flag(name):
    """Whether the build's CMakeCache.txt sets option `name` ON."""
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        return any(line.startswith(name + ":") and line.strip().split("=", 1)[1].upper() in ("ON", "1", "TRUE", "YES")
                   for line in f)


def links_mimalloc():
    dynamic = subprocess.run(["readelf", "-d", os.path.join(BUILD, "vmsync")], capture_output=True, text=True,
                             check=True).stdout
    return "libmimalloc.so" in dynamic


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, env=kw.pop("env", ENV), timeout=kw.pop("timeout", 300),
                       **kw)
    assert r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def tmp():
    d = tempfile.mkdtemp(prefix="vmsync-install-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def deb(tmp):
    out = os.path.join(tmp, "package")
    run("cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", out)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    return os.path.join(out, debs[0])


def test_cmake_install_places_every_file(tmp):
    prefix = os.path.join(tmp, "prefix")
    run("cmake", "--install", BUILD, "--prefix", prefix)
    found = set()
    for dirpath, _, files in os.walk(prefix):
        for f in files:
            found.add(os.path.relpath(os.path.join(dirpath, f), prefix))
    assert found == INSTALLED
    assert os.access(os.path.join(prefix, "bin", "vmsync"), os.X_OK)
    assert os.readlink(os.path.join(prefix, "bin", "kubectl-vmsync")) == "vmsync"
    assert os.access(os.path.join(prefix, "bin", "kubectl_complete-vmsync"), os.X_OK)
    for f in INSTALLED - {"bin/vmsync", "bin/kubectl-vmsync"}:
        src = {"bin/kubectl_complete-vmsync": "completions/kubectl_complete-vmsync",
               "share/man/man1/vmsync.1": "man/vmsync.1",
               "share/bash-completion/completions/vmsync": "completions/vmsync.bash",
               "share/zsh/vendor-completions/_vmsync": "completions/_vmsync",
               "share/fish/vendor_completions.d/vmsync.fish": "completions/vmsync.fish"}[f]
        with open(os.path.join(prefix, f)) as a, open(os.path.join(ROOT, src)) as b:
            assert a.read() == b.read(), f


def test_deb_metadata(deb):
    info = run("dpkg-deb", "--field", deb, "Package", "Version", "Architecture", "Depends", "Section")
    fields = dict(line.split(": ", 1) for line in info.strip().splitlines())
    assert fields["Package"] == "vmsync"
    assert fields["Section"] == "admin"
    depends = {d.strip().split(" ")[0] for d in fields["Depends"].split(",")}
    assert {"libcurl4", "libyaml-cpp0.7", "libfmt9", "libsimdjson14"} <= depends, fields["Depends"]
    # mimalloc is linked unless the build has sanitizers (they bring their own malloc) or -DVMSYNC_MIMALLOC=OFF.
    if links_mimalloc():
        assert "libmimalloc2.0" in depends, fields["Depends"]
    else:
        assert cache_flag("VMSYNC_SANITIZE") or not cache_flag("VMSYNC_MIMALLOC"), "no mimalloc in a default build"
    contents = [line for line in run("dpkg-deb", "--contents", deb).splitlines() if not line.startswith("d")]
    files = {line.split(" -> ")[0].split()[-1].lstrip(".") for line in contents}
    assert {"/usr/" + f for f in INSTALLED} == files
    links = {line.split(" -> ")[0].split()[-1].lstrip("."): line.split(" -> ")[1] for line in contents
             if line.startswith("l")}
    assert links == {"/usr/bin/kubectl-vmsync": "vmsync"}


INSTALL_AND_CHECK = r"""
set -eu
tmp=$1 deb=$2
mount -t tmpfs tmpfs "$tmp/overlay"
for d in usr var etc; do
  mkdir -p "$tmp/overlay/$d/upper" "$tmp/overlay/$d/work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$tmp/overlay/$d/upper,workdir=$tmp/overlay/$d/work" "/$d"
done
dpkg -i "$deb" >/dev/null
echo "== status"; dpkg-query -W -f '${Status}\n' vmsync
echo "== version"; vmsync version
echo "== --version"; vmsync --version
echo "== man"; man -w vmsync
echo "== man text"; MANWIDTH=80 MANPAGER=cat man vmsync 2>&1 | head -5
echo "== bash"; bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader vmsync; complete -p vmsync'
echo "== zsh"; zsh -f -c 'autoload -U compinit; compinit -u -D; print -r -- ${_comps[vmsync]}'
echo "== fish"; HOME=/nonexistent XDG_CONFIG_HOME=$tmp/fish-config fish -c 'complete -C "vmsync che"'
"""


def test_deb_installs_with_dpkg(deb, tmp):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("dpkg -i needs root (and unshare for the throwaway overlay)")
    os.makedirs(os.path.join(tmp, "overlay"), exist_ok=True)
    installed_before = installed_on_this_machine()
    out = run("unshare", "--mount", "--propagation", "private", "sh", "-c", INSTALL_AND_CHECK, "sh", tmp, deb)
    parts = dict((p.split("\n", 1) + [""])[:2] for p in out.split("== ")[1:])
    assert parts["status"].strip() == "install ok installed"
    version = run(os.path.join(BUILD, "vmsync"), "version")
    assert parts["version"] == version
    assert parts["version"].startswith("vmsync ") and "git commit " in parts["version"]
    assert parts["--version"].strip() == version.splitlines()[0] + " (" + version.splitlines()[1].split()[-1] + ")"
    assert parts["man"].strip() == "/usr/share/man/man1/vmsync.1"
    assert "vmsync" in parts["man text"]
    assert parts["bash"].strip() == "complete -F _vmsync vmsync"
    assert parts["zsh"].strip() == "_vmsync"
    assert parts["fish"].startswith("check\t")
    assert installed_on_this_machine() == installed_before, "the package must stay inside the overlay"


def installed_on_this_machine():
    return subprocess.run(["dpkg-query", "-W", "vmsync"], capture_output=True).returncode == 0
