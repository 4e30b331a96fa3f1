# vds sandbox runner. It runs inside bubblewrap as an unprivileged user, before any untrusted code:
# it lowers the resource limits (hard and soft, so they cannot be raised again), optionally imports
# heavy modules, reports ready, then reads one request, runs it once and exits. Output files are
# shipped to the host over fd 3 as framed records; the host validates every name and size.
import sys, os, json, re, resource

_LIMITS = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC,
           "nofile": resource.RLIMIT_NOFILE, "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE}


def _apply(lim):
    for k, v in lim.items():
        if k in _LIMITS and v is not None and v >= 0:
            soft, hard = resource.getrlimit(_LIMITS[k])
            if hard != resource.RLIM_INFINITY and v > hard:
                v = hard
            # CPU: SIGXCPU at the soft limit (a clear status), SIGKILL a second later.
            h = v + 1 if k == "cpu" and (hard == resource.RLIM_INFINITY or v + 1 <= hard) else v
            resource.setrlimit(_LIMITS[k], (v, h))


_OUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


def _frame(ch, obj, data=b""):
    head = json.dumps(obj).encode()
    ch.write(b"%d %d\n" % (len(head), len(data)) + head + data)


def _vds_module(inputs):
    import types
    m = types.ModuleType("vds")
    m.DATA = "/data"
    m.OUT = "/out"
    # inputs: alias -> {"file": name under /data, "columns": {column: "str" | "boolean" | "datetime"}}
    inputs = {k: (v if isinstance(v, dict) else {"file": v}) for k, v in inputs.items()}

    def path(name):
        if name not in inputs:
            raise KeyError("no input named %r; inputs are: %s" % (name, ", ".join(sorted(inputs)) or "none"))
        return os.path.join("/data", inputs[name]["file"])

    def load(name, **kw):
        """Read input `name` as a pandas DataFrame, whichever format it was given in."""
        import pandas as pd
        p = path(name)
        if p.endswith(".parquet"):
            return pd.read_parquet(p, **kw)
        cols = inputs[name].get("columns") or {}
        if "dtype" not in kw:
            kw["dtype"] = {c: ("boolean" if t == "boolean" else str) for c, t in cols.items() if t in ("str", "boolean")}
        if "parse_dates" not in kw:
            kw["parse_dates"] = [c for c, t in cols.items() if t == "datetime"]
        return pd.read_csv(p, **kw)

    def save(df, name, index=False):
        """Write df as /out/<name>.csv (name may end in .csv already), which becomes a new dataset
        when the code finishes."""
        if not isinstance(name, str):
            raise TypeError("vds.save: the name must be a string, not %s" % type(name).__name__)
        if name.lower().endswith(".csv") and len(name) > 4:
            name = name[:-4]  # vds.save(df, "summary.csv") writes summary.csv, not summary.csv.csv
        # The host's rule for output names (pysandbox.SafeName), applied to the file's name.
        if not _OUT_NAME.match(name + ".csv") or ".." in name + ".csv":
            raise ValueError("vds.save: %r is not a valid output name; use 1 to 124 letters, digits, '_', '.' or '-', "
                             "starting with a letter, digit or '_', with no '/' and no '..' (the table is written "
                             "as /out/<name>.csv), e.g. vds.save(df, \"summary\")" % name)
        df.to_csv(os.path.join("/out", name + ".csv"), index=index)

    m.path, m.load, m.save = path, load, save
    m.inputs = lambda: sorted(inputs)
    m.format = lambda name: os.path.splitext(path(name))[1].lstrip(".")
    return m


def _print_user_traceback(e):
    """Print e's traceback as Python would, without the runner's own frames (the exec in main and
    the vds helpers, all in this file): the user sees their code and the libraries it called."""
    import traceback
    me = os.path.abspath(__file__)
    te = traceback.TracebackException.from_exception(e)
    seen, todo = set(), [te]
    while todo:
        t = todo.pop()
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        t.stack = traceback.StackSummary.from_list([f for f in t.stack if os.path.abspath(f.filename) != me])
        todo += [t.__cause__, t.__context__] + list(getattr(t, "exceptions", None) or [])
    sys.stderr.write("".join(te.format()))


def main():
    ch = os.fdopen(3, "wb", buffering=0)
    _apply(json.loads(sys.argv[1]))
    for mod in [m for m in sys.argv[2].split(",") if m]:
        __import__(mod)
    _frame(ch, {"ready": True})
    req = json.loads(sys.stdin.buffer.readline())
    sys.stdin.close()
    sys.stdin = open(os.devnull)
    _apply(req.get("limits", {}))
    sys.modules["vds"] = _vds_module(req.get("inputs", {}))
    os.chdir("/out")
    import linecache
    linecache.cache["<code>"] = (len(req["code"]), None, req["code"].splitlines(True), "<code>")
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    code, status, msg = 0, "ok", ""
    try:
        exec(compile(req["code"], "<code>", "exec"), g)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        status = "ok" if code == 0 else "error"
        msg = "" if code == 0 else "exit status %d" % code
    except MemoryError as e:
        _print_user_traceback(e)
        code, status, msg = 1, "memory", "MemoryError"
    except BaseException as e:
        import traceback
        _print_user_traceback(e)
        tb = traceback.format_exc()
        if isinstance(e, BlockingIOError) and ("fork" in tb or "Popen" in tb) or "can't start new thread" in tb:
            code, status, msg = 1, "procs", "%s: %s" % (type(e).__name__, e)
            # End the whole sandbox at once rather than leave the other copies forking.
            _frame(ch, {"status": status, "exit": code, "message": msg})
            try:
                os.kill(-1, 9)
            except Exception:
                pass
        else:
            code, status, msg = 1, "error", "%s: %s" % (type(e).__name__, e)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        # Only regular files directly in /out are shipped; the others are named to the host, which
        # tells the caller they were not collected.
        for ent in sorted(os.scandir("/out"), key=lambda e: e.name):
            if not ent.is_file(follow_symlinks=False):
                why = "symlink" if ent.is_symlink() else "folder" if ent.is_dir(follow_symlinks=False) else "special"
                _frame(ch, {"skipped": ent.name, "why": why})
                continue
            try:
                fd = os.open(ent.path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                _frame(ch, {"skipped": ent.name, "why": "unreadable"})
                continue
            with os.fdopen(fd, "rb") as f:
                _frame(ch, {"file": ent.name}, f.read())
    except Exception as e:
        msg = msg or "collecting outputs: %s" % e
    ru, rc = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    _frame(ch, {"status": status, "exit": code, "message": msg[:1000],
                "cpu_ms": int((ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime) * 1000),
                "maxrss_kb": max(ru.ru_maxrss, rc.ru_maxrss)})
    ch.close()
    os._exit(code)


main()
