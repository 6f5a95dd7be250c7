"""The krew plugin manifest (deploy/krew/vmsync.yaml) against krew's manifest rules, and the release archive that
scripts/krew-archive.sh makes for it.

The rules are krew's own, reimplemented here (krew is not a Debian package) from kubernetes-sigs/krew:
- pkg/index/validation/validate.go: ValidatePlugin, validatePlatform, validateSelector, IsSafePluginName;
- pkg/installation/semver/semver.go: Parse (a version starts with "v" and is semantic);
- cmd/validate-krew-manifest/main.go: the plugin name is the file name less ".yaml", every platform selects a
  supported <os,arch> and no two select the same one, the line lengths of description (80), shortDescription (70)
  and caveats (80) (krew warns; we fail);
- pkg/index/types.go: the fields a manifest has (krew's reader decodes strictly, so an unknown field is an error).
"""
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import hashlib

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("VMSYNC_BUILD_DIR", os.path.join(ROOT, "build"))
MANIFEST = os.path.join(ROOT, "deploy", "krew", "vmsync.yaml")

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"  # krew pkg/constants: CurrentAPIVersion
WINDOWS_FORBIDDEN = ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
# cmd/validate-krew-manifest allPlatforms (with the arm64 pairs krew added later).
PLATFORMS = [("windows", "386"), ("windows", "amd64"), ("linux", "386"), ("linux", "amd64"), ("linux", "arm"),
             ("linux", "arm64"), ("darwin", "386"), ("darwin", "amd64"), ("darwin", "arm64")]
# k8s.io/apimachinery/pkg/util/version ParseSemantic, after krew's "v" prefix.
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
FIELDS = {"": {"apiVersion", "kind", "metadata", "spec"},
          "spec": {"version", "shortDescription", "description", "caveats", "homepage", "platforms"},
          "platform": {"uri", "sha256", "selector", "files", "license", "bin"},
          "file": {"from", "to"},
          "selector": {"matchLabels", "matchExpressions"}}


def selector_matches(sel, os_, arch):
    labels = {"os": os_, "arch": arch}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        value, op, values = labels.get(e["key"]), e["operator"], e.get("values") or []
        if (op == "In" and value not in values) or (op == "NotIn" and value in values) or \
                (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def line_length_ok(text, limit):
    return all(len(line) <= limit or " " not in line.strip() for line in (text or "").split("\n"))


def krew_problems(path):
    """Every rule of krew's the manifest at `path` breaks, as messages; empty when krew would accept it."""
    with open(path) as f:
        p = yaml.safe_load(f)
    name, ext = os.path.splitext(os.path.basename(path))
    errs = []
    if ext != ".yaml":
        errs.append(f"expected manifest extension .yaml but found {ext}")
    unknown = set(p) - FIELDS[""] | set(p.get("spec", {})) - FIELDS["spec"]
    for pl in p.get("spec", {}).get("platforms") or []:
        unknown |= set(pl) - FIELDS["platform"] | set(pl.get("selector") or {}) - FIELDS["selector"]
        for fo in pl.get("files") or []:
            unknown |= set(fo) - FIELDS["file"]
    if unknown:
        errs.append(f"unknown fields {sorted(unknown)}")
    if p.get("apiVersion") != API_VERSION:
        errs.append(f"apiVersion={p.get('apiVersion')!r} is not supported")
    if p.get("kind") != "Plugin":
        errs.append(f"kind={p.get('kind')!r}, only Plugin is supported")
    if not re.fullmatch(r"[\w-]+", name) or name.upper() in WINDOWS_FORBIDDEN:
        errs.append(f"the plugin name {name!r} is not allowed")
    if (p.get("metadata") or {}).get("name") != name:
        errs.append(f"plugin should be named {name!r}, not {(p.get('metadata') or {}).get('name')!r}")
    spec = p.get("spec") or {}
    if not spec.get("shortDescription"):
        errs.append("should have a short description")
    if not spec.get("platforms"):
        errs.append("should have a platform specified")
    if not spec.get("version"):
        errs.append("should have a version specified")
    elif not SEMVER.match(str(spec["version"])):
        errs.append(f"failed to parse plugin version {spec['version']!r} (vMAJOR.MINOR.PATCH)")
    for field, limit in (("description", 80), ("shortDescription", 70), ("caveats", 80)):
        if not line_length_ok(spec.get(field), limit):
            errs.append(f"line length in {field} exceeds {limit} characters")
    for i, pl in enumerate(spec.get("platforms") or []):
        where = f"spec.platforms[{i}]"
        if not pl.get("uri"):
            errs.append(f"{where}: URI has to be set")
        if not re.fullmatch(r"[a-f0-9]{64}", str(pl.get("sha256", ""))):
            errs.append(f"{where}: sha256 value {pl.get('sha256')!r} is not valid, must match ^[a-f0-9]{{64}}$")
        if not pl.get("bin"):
            errs.append(f"{where}: bin has to be set")
        if not pl.get("files"):
            errs.append(f"{where}: can't have a plugin without specifying file operations")
        sel = pl.get("selector")
        if sel is None:
            errs.append(f"{where}: nil selector is not supported")
            continue
        if sel.get("matchLabels") is None and not sel.get("matchExpressions"):
            errs.append(f"{where}: empty selector is not supported")
        keys = list(sel.get("matchLabels") or {}) + [e.get("key") for e in sel.get("matchExpressions") or []]
        errs += [f"{where}: selector key {k!r} not supported" for k in keys if k not in ("os", "arch")]
        if "matchLabels" in sel and not sel["matchLabels"]:
            errs.append(f"{where}: matchLabels specified but empty")
        if "matchExpressions" in sel and not sel["matchExpressions"]:
            errs.append(f"{where}: matchExpressions specified but empty")
        if not any(selector_matches(sel, o, a) for o, a in PLATFORMS):
            errs.append(f"{where}: selector doesn't match any supported platforms")
    for o, a in PLATFORMS:
        hits = [i for i, pl in enumerate(spec.get("platforms") or []) if selector_matches(pl.get("selector") or {}, o, a)]
        if len(hits) > 1:
            errs.append(f"spec.platforms {hits} have overlapping selectors that select os={o}/arch={a}")
    return errs


def test_committed_manifest_follows_krews_rules():
    assert krew_problems(MANIFEST) == []
    with open(MANIFEST) as f:
        spec = yaml.safe_load(f)["spec"]
    # The version is the project's (CMakeLists.txt), as the release tags it.
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        version = re.search(r"project\(vmsync VERSION (\S+)", f.read()).group(1)
    assert spec["version"] == "v" + version
    for pl in spec["platforms"]:
        assert pl["bin"] == "kubectl-vmsync"  # kubectl finds it as the plugin `vmsync`
        assert pl["uri"].startswith("https://") and pl["uri"].endswith(f"/v{version}/vmsync_v{version}_linux_amd64.tar.gz")


@pytest.mark.parametrize("change, problem", [
    (lambda p: p.update(apiVersion="krew.googlecontainertools.github.com/v1alpha1"), "apiVersion="),
    (lambda p: p["metadata"].update(name="vm-sync"), "plugin should be named 'vmsync'"),
    (lambda p: p["spec"].update(version="0.1.0"), "failed to parse plugin version"),
    (lambda p: p["spec"]["platforms"][0].update(sha256="ABC"), "sha256 value 'ABC' is not valid"),
    (lambda p: p["spec"]["platforms"][0].pop("bin"), "bin has to be set"),
    (lambda p: p["spec"]["platforms"][0].update(files=[]), "without specifying file operations"),
    (lambda p: p["spec"]["platforms"][0]["selector"]["matchLabels"].update(distro="debian"), "key 'distro' not"),
    (lambda p: p["spec"]["platforms"].append(p["spec"]["platforms"][0]), "overlapping selectors"),
    (lambda p: p["spec"]["platforms"][0].update(sha_256="x"), "unknown fields ['sha_256']"),
])
def test_the_rules_reject_what_krew_rejects(tmp_path, change, problem):
    with open(MANIFEST) as f:
        p = yaml.safe_load(f)
    change(p)
    bad = tmp_path / "vmsync.yaml"
    bad.write_text(yaml.safe_dump(p))
    assert any(problem in e for e in krew_problems(str(bad))), krew_problems(str(bad))


def test_release_archive_matches_a_manifest_written_for_it():
    if not os.access(os.path.join(BUILD, "vmsync"), os.X_OK):
        pytest.skip(f"no vmsync in {BUILD}")
    tmp = tempfile.mkdtemp(prefix="vmsync-krew-")
    try:
        manifest = os.path.join(tmp, "vmsync.yaml")
        shutil.copy(MANIFEST, manifest)
        archive = subprocess.run(["bash", os.path.join(ROOT, "scripts", "krew-archive.sh"), BUILD, tmp,
                                  "--manifest", manifest], capture_output=True, text=True, check=True).stdout.strip()
        assert krew_problems(manifest) == []
        with open(manifest) as f:
            pl = yaml.safe_load(f)["spec"]["platforms"][0]
        with open(archive, "rb") as f:
            assert pl["sha256"] == hashlib.sha256(f.read()).hexdigest()
        assert pl["uri"].rsplit("/", 1)[1] == os.path.basename(archive)
        with tarfile.open(archive) as t:
            members = {m.name: m for m in t.getmembers()}
            assert set(members) == {fo["from"] for fo in pl["files"]}
            assert members[pl["bin"]].mode & 0o111
            t.extractall(tmp, filter="data")
        # What krew links runs, and says `kubectl vmsync` when it is the plugin.
        out = subprocess.run([os.path.join(tmp, pl["bin"]), "version"], capture_output=True, text=True, check=True)
        assert out.stdout.startswith("vmsync ")
        bad = subprocess.run([os.path.join(tmp, pl["bin"]), "--no-such-flag"], capture_output=True, text=True)
        assert bad.returncode == 2 and bad.stderr.startswith("kubectl vmsync: error: "), bad.stderr
        # Made twice, the archive is the same bytes: the sha256 is the build's, not the moment's.
        again = subprocess.run(["bash", os.path.join(ROOT, "scripts", "krew-archive.sh"), BUILD,
                                os.path.join(tmp, "again")], capture_output=True, text=True, check=True).stdout.strip()
        with open(again, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == pl["sha256"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
