"""The container image (Containerfile), built as scripts/image.sh builds it without a registry: mmdebstrap's runtime
base from deploy/image/runtime-packages, the Containerfile built by buildah over it, the result an OCI archive.

Checked: the image's config (user 65532, entrypoint vmsync, the OCI labels the Containerfile sets, PATH); its size
against a budget; that it has no shell and still runs, as user 65532 on a read-only root (the unpacked root
filesystem, chrooted in a private mount namespace, as a container runtime would run it): `vmsync version` and
`vmsync check -f` on a rendered manifest, with the same output as the binary outside; that deploy/'s kustomizations
name the image this build produces; that a second build with the same inputs is served from the cache.
Needs root (chroot, mount namespaces), mmdebstrap, buildah, skopeo and umoci (VMSYNC_DEPS=image install-deps.sh).
"""
import json
import os
import tarfile
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("VMSYNC_BUILD_DIR", os.path.join(ROOT, "build"))
VMSYNC = os.path.join(BUILD, "vmsync")
MANIFEST = os.path.join(ROOT, "test", "data", "manifests", "helm-scaled.yaml")
# The image's budget: the compressed archive (what a node pulls) and the unpacked root filesystem. At 0.1.0 they
# measure 16.3 and 37.9 MiB (vmsync, stripped, is 2.3 MiB; libcurl's dependencies, libcrypto, libstdc++ and libc
# the rest): the budget leaves room for a few libraries more, not for a second distribution.
BUDGET_ARCHIVE = 24 * 2**20
BUDGET_ROOTFS = 48 * 2**20

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(t) is None for t in ("mmdebstrap", "buildah", "skopeo", "umoci")),
    reason="needs root, mmdebstrap, buildah, skopeo and umoci (VMSYNC_DEPS=image bash scripts/install-deps.sh)")


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 900), **kw)
    assert r.returncode == 0, f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r


@pytest.fixture(scope="module")
def image():
    tmp = tempfile.mkdtemp(prefix="vmsync-image-")
    build = run("bash", os.path.join(ROOT, "scripts", "image.sh"), BUILD)
    archive = build.stdout.strip().splitlines()[-1]
    assert archive == os.path.join(BUILD, "image", "vmsync-image.tar")
    layout = os.path.join(tmp, "layout")
    run("skopeo", "copy", "--quiet", f"oci-archive:{archive}", f"oci:{layout}:vmsync")
    bundle = os.path.join(tmp, "bundle")
    run("umoci", "unpack", "--image", f"{layout}:vmsync", bundle)
    with tarfile_index(archive) as index:
        ref = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
    config = json.loads(run("skopeo", "inspect", "--config", f"oci-archive:{archive}").stdout)
    yield {"archive": archive, "rootfs": os.path.join(bundle, "rootfs"), "config": config, "ref": ref,
           "tmp": tmp, "build_log": build.stderr}
    shutil.rmtree(tmp, ignore_errors=True)


class tarfile_index:
    """index.json of an OCI archive, read without unpacking it."""

    def __init__(self, archive):
        self.t = tarfile.open(archive)

    def __enter__(self):
        return json.load(self.t.extractfile("index.json"))

    def __exit__(self, *exc):
        self.t.close()


def containerfile_labels(version, revision):
    """The LABELs of the Containerfile's last stage, with its ARGs (defaults, then the build's) substituted."""
    text = open(os.path.join(ROOT, "Containerfile")).read().replace("\\\n", " ")
    last = text[text.rindex("\nFROM "):]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", last, re.M))
    args.update(VERSION=version, REVISION=revision)
    labels = {}
    for line in re.findall(r"^LABEL (.*)$", last, re.M):
        for k, v in re.findall(r'(\S+)="([^"]*)"', line):
            labels[k] = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], v)
    return labels


def host_version():
    out = run(VMSYNC, "version").stdout.splitlines()
    return out[0].removeprefix("vmsync "), out[1].removeprefix("git commit ")


def test_config_user_entrypoint_labels(image):
    c = image["config"]["config"]
    assert c["User"] == "65532:65532"
    assert c["Entrypoint"] == ["vmsync"]
    version, revision = host_version()
    want = containerfile_labels(version, revision)
    assert set(want) == {"org.opencontainers.image." + k for k in ("title", "description", "version", "revision",
                                                                     "source")}
    assert {k: v for k, v in c["Labels"].items() if k.startswith("org.opencontainers.")} == want
    assert want["org.opencontainers.image.version"] == version
    assert want["org.opencontainers.image.revision"] == revision
    assert want["org.opencontainers.image.source"].startswith("https://")
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in c["Env"]
    assert image["config"]["os"] == "linux" and image["config"]["architecture"] == "amd64"


def test_size_within_budget(image):
    archive = os.path.getsize(image["archive"])
    rootfs = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(image["rootfs"]) for f in fs)
    assert archive <= BUDGET_ARCHIVE, f"image archive {archive / 2**20:.1f} MiB > {BUDGET_ARCHIVE / 2**20:.0f} MiB"
    assert rootfs <= BUDGET_ROOTFS, f"root filesystem {rootfs / 2**20:.1f} MiB > {BUDGET_ROOTFS / 2**20:.0f} MiB"


def test_no_shell_and_only_runtime_files(image):
    r = image["rootfs"]
    for sh in ("bin/sh", "bin/bash", "bin/dash", "usr/bin/sh", "usr/bin/bash", "usr/bin/dash", "usr/bin/perl"):
        assert not os.path.lexists(os.path.join(r, sh)), sh
    assert not os.path.exists(os.path.join(r, "usr", "share", "doc"))
    assert os.path.getsize(os.path.join(r, "etc", "ssl", "certs", "ca-certificates.crt")) > 100_000
    with open(os.path.join(r, "etc", "passwd")) as f:
        assert "nonroot:x:65532:65532:" in f.read()
    st = os.stat(os.path.join(r, "usr", "bin", "vmsync"))
    assert st.st_mode & 0o755 == 0o755 and st.st_uid == 0


# The root filesystem read-only, /tmp/in (the manifests) read-only, run as 65532 with an empty environment but the
# image's PATH, in a private mount namespace: what a container runtime does with readOnlyRootFilesystem: true.
CHROOT = r"""
set -eu
rootfs=$1 data=$2; shift 2
mount --bind "$rootfs" "$rootfs"
mount --bind "$data" "$rootfs/tmp"
mount -o remount,bind,ro "$rootfs/tmp"
mount -o remount,bind,ro "$rootfs"
if touch "$rootfs/written" 2>/dev/null; then echo "the root is writable" >&2; exit 99; fi
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot --userspec=65532:65532 "$rootfs" "$@"
"""


def in_image(image, *args):
    data = os.path.join(image["tmp"], "data")
    os.makedirs(data, exist_ok=True)
    shutil.copy(MANIFEST, os.path.join(data, "manifest.yaml"))
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", CHROOT, "sh",
                           image["rootfs"], data, *args], capture_output=True, text=True, timeout=120)


def test_version_runs_in_the_image(image):
    r = in_image(image, "vmsync", "version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == run(VMSYNC, "version").stdout


def test_check_from_a_file_runs_on_a_read_only_root(image):
    r = in_image(image, "vmsync", "check", "-f", "/tmp/manifest.yaml", "-o", "json")
    host = subprocess.run([VMSYNC, "check", "-f", MANIFEST, "-o", "json"], capture_output=True, text=True)
    assert host.returncode == 1, host.stderr  # the manifest has drift
    assert (r.returncode, r.stderr) == (1, ""), r.stderr
    assert json.loads(r.stdout) == json.loads(host.stdout)


def test_kustomizations_name_the_built_image(image):
    name, tag = image["ref"].rsplit(":", 1)
    for variant in ("cluster", "namespaced"):
        with open(os.path.join(ROOT, "deploy", variant, "kustomization.yaml")) as f:
            (img,) = yaml.safe_load(f)["images"]
        assert (img["name"], img["newName"], img["newTag"]) == ("vmsync", name, tag), variant
    assert tag == host_version()[0]


def test_second_build_is_cached(image):
    with open(image["archive"], "rb") as f:
        first = f.read()
    t0 = time.monotonic()
    again = run("bash", os.path.join(ROOT, "scripts", "image.sh"), BUILD)
    assert "is cached" in again.stderr and "mmdebstrap" not in again.stderr, again.stderr
    assert time.monotonic() - t0 < 30
    with open(image["archive"], "rb") as f:
        assert f.read() == first
