"""Drive the real shells' completion: bash with Debian's bash-completion and zsh's compsys in an interactive shell
on a pseudo-terminal (a real Tab key press), fish through `complete -C` (fish's own API for what Tab offers).

Each shell loads vmsync's completion the way an installed package gets loaded: bash-completion's loader from
BASH_COMPLETION_USER_DIR/completions/vmsync, zsh from $fpath by its #compdef line, fish from $fish_complete_path.
What the shell would offer is captured where it is decided: bash's COMPREPLY after the completion function ran,
zsh's matches as compadd receives them, fish's candidate lines.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pexpect

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPLETIONS = os.path.join(ROOT, "completions")
VMSYNC = os.environ.get("VMSYNC_BIN", os.path.join(ROOT, "build", "vmsync"))
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
PROMPT = "vmsync-test-prompt> "


def layout(tmp):
    """A PATH with `vmsync` in it and the completion files laid out as each shell's loader expects."""
    bindir = os.path.join(tmp, "bin")
    bash_dir = os.path.join(tmp, "bash", "completions")
    zsh_dir = os.path.join(tmp, "zsh")
    fish_dir = os.path.join(tmp, "fish")
    for d in (bindir, bash_dir, zsh_dir, fish_dir):
        os.makedirs(d, exist_ok=True)
    os.symlink(os.path.abspath(VMSYNC), os.path.join(bindir, "vmsync"))
    shutil.copy(os.path.join(COMPLETIONS, "vmsync.bash"), os.path.join(bash_dir, "vmsync"))
    shutil.copy(os.path.join(COMPLETIONS, "_vmsync"), os.path.join(zsh_dir, "_vmsync"))
    shutil.copy(os.path.join(COMPLETIONS, "vmsync.fish"), os.path.join(fish_dir, "vmsync.fish"))
    return bindir


def base_env(tmp, bindir, extra=None):
    env = {
        "PATH": bindir + ":/usr/bin:/bin",
        "HOME": tmp,
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "BASH_COMPLETION_USER_DIR": os.path.join(tmp, "bash"),
    }
    if extra:
        env.update(extra)
    return env


class InteractiveShell:
    """bash or zsh on a pty. complete(line) types the line and one Tab, returns the captured candidates."""

    def __init__(self, kind, env, tmp):
        self.kind = kind
        self.capture = os.path.join(tmp, f"{kind}-capture")
        self.n = 0
        if kind == "bash":
            argv = ["bash", "--norc", "--noprofile", "-i"]
        else:
            argv = ["zsh", "-f", "-i"]
        self.p = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", dimensions=(50, 250), timeout=30)
        self.run(f"PS1='{PROMPT}'; PROMPT='{PROMPT}'; CAPTURE='{self.capture}'")
        if kind == "bash":
            self.run(f"source {BASH_COMPLETION}")
            # bash-completion's on-demand loader finds completions/vmsync by the command's name.
            self.run("_completion_loader vmsync")
            spec = self.run("complete -p vmsync")
            assert "-F _vmsync" in spec, spec
            self.run('__vmsync_capture() { _vmsync "$@"; printf "%s\\n" "${COMPREPLY[@]}" > "$CAPTURE"; }')
            self.run("complete -F __vmsync_capture vmsync")
        else:
            zsh_dir = os.path.join(tmp, "zsh")
            self.run(f"fpath=({zsh_dir} $fpath); autoload -U compinit; compinit -u -D")
            # Every match compsys would add, as compadd gets it (-O: report the matches instead of adding them).
            self.run('compadd() { local -a __m; builtin compadd -O __m "$@"; '
                     'print -rl -- "${__m[@]}" >> "$CAPTURE"; builtin compadd "$@"; }')

    def run(self, command):
        self.n += 1
        marker = f"done-{self.n}"
        self.p.sendline(f"{command}; echo {marker[:4]}''{marker[4:]}")
        self.p.expect_exact(marker)
        out = self.p.before
        self.p.expect_exact(PROMPT)
        return out

    def complete(self, line):
        if os.path.exists(self.capture):
            os.remove(self.capture)
        open(self.capture, "w").close()
        self.p.send(line + "\t")
        # The shell reads keys in order: the marker command runs only after the completion has finished.
        self.p.send("\x15")  # Ctrl-U: drop what the Tab left on the line
        self.run(":")
        with open(self.capture) as f:
            return [l for l in f.read().split("\n") if l != ""]

    def close(self):
        self.p.sendline("exit")
        self.p.close(force=True)


class FishShell:
    def __init__(self, env, tmp):
        self.env = env
        self.dir = os.path.join(tmp, "fish")

    def complete(self, line):
        script = f"set -p fish_complete_path {self.dir}; complete -C {quote_fish(line)}"
        r = subprocess.run(["fish", "--no-config", "-c", script], env=self.env, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        return [l.split("\t")[0] for l in r.stdout.split("\n") if l != ""]

    def close(self):
        pass


def quote_fish(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def open_shell(kind, env, tmp):
    if kind == "fish":
        return FishShell(env, tmp)
    return InteractiveShell(kind, env, tmp)


def normalized(kind, line, candidates):
    """What each shell offers, as the full words it would put on the line.

    bash replaces only the text after the last word break (= and :), so its COMPREPLY holds that tail; the other
    shells hold whole words. The tail is put back together with the rest of the word being completed.
    """
    if kind != "bash":
        return sorted(set(candidates))
    current = line.split(" ")[-1]
    cut = max(current.rfind("="), current.rfind(":"))
    head = current[: cut + 1] if cut >= 0 else ""
    return sorted(set(head + c for c in candidates))


def wait_for(predicate, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
