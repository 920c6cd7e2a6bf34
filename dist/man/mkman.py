#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Man pages (and the example environment file) generated from a program's --help at build
time, so that they list exactly the flags the program has.

  mkman.py man --prog PATH --name NAME --version V [--summary S] [--extra FILE]
               [--env-prefix P] --out FILE
  mkman.py env --prog PATH --name NAME --env-prefix P --out FILE

The --help text is read in this shape (ssehub, ssecat and ssebench all use it): a usage
block (a line starting with "usage:", and the lines below it up to a blank line), then
paragraphs; an option is a line indented by two spaces that starts with "-", its
description starting at the column where the continuation lines below it start (the
column most of the options use); other indented lines are kept as they are (.nf). A short
unindented line ending in ":" alone in its paragraph is a subsection title. With
--env-prefix every long flag but --help and --version also gets its environment variable
(P + the flag name upper case, '_' for '-'), listed in an ENVIRONMENT section (man) or
as a commented line (env). --extra appends hand-written roff sections (no flag lists).
"""
import argparse
import collections
import re
import subprocess
import sys

OPT_RE = re.compile(r"^  (-\S.*)$")
USAGE_RE = re.compile(r"^\s*usage:\s*(.*)$", re.IGNORECASE)


def run_help(prog):
    out = subprocess.run([prog, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         check=False)
    if out.returncode != 0:
        sys.exit("mkman.py: %s --help exited %d: %s" % (prog, out.returncode,
                                                         out.stderr.decode(errors="replace")))
    return out.stdout.decode("utf-8").splitlines()


def desc_column(lines):
    """The column option descriptions start at: the most common indentation of the lines
    that continue an option."""
    cols = collections.Counter()
    prev_opt = False
    for line in lines:
        if OPT_RE.match(line):
            prev_opt = True
            continue
        if prev_opt and line.startswith("   ") and line.strip():
            cols[len(line) - len(line.lstrip(" "))] += 1
            continue
        prev_opt = False
    if not cols:  # no option wraps: the widest gap of two spaces or more
        for line in lines:
            m = OPT_RE.match(line)
            g = m and re.search(r"\S(\s{2,})\S", line)
            if g:
                cols[g.end(1)] += 1
    return cols.most_common(1)[0][0] if cols else None


def parse(lines, name):
    """Returns (summary or None, usage lines, blocks). A block is ("para", text),
    ("title", text), ("pre", [lines]) or ("opts", [(spec, description)])."""
    summary = None
    if lines and re.match(r"^%s\s+[—-]+\s+" % re.escape(name), lines[0]):
        summary = re.sub(r"^%s\s+[—-]+\s+" % re.escape(name), "", lines[0]).strip()
        lines = lines[1:]
    col = desc_column(lines)
    usage, blocks = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = USAGE_RE.match(line)
        if m and not usage:
            usage.append(m.group(1).strip())
            i += 1
            while i < len(lines) and lines[i].strip():
                usage.append(lines[i].strip())
                i += 1
            continue
        if not line.strip():
            blocks.append(("blank", None))
            i += 1
            continue
        om = OPT_RE.match(line)
        if om:
            if col is not None and len(line) > col and line[col - 1] == " " \
                    and line[col] != " ":
                spec, desc = line[2:col].strip(), line[col:].strip()
            else:
                parts = re.split(r"\s{2,}", om.group(1), maxsplit=1)
                spec, desc = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
            desc = [desc]
            i += 1
            # Continuation lines are joined, except in a list: after a line ending in ":",
            # and lines indented past the description column, keep their own lines.
            listing = False
            while i < len(lines) and lines[i].startswith("   ") and lines[i].strip() \
                    and not OPT_RE.match(lines[i]):
                text = lines[i].strip()
                indent = len(lines[i]) - len(lines[i].lstrip(" "))
                listing = listing or desc[-1].endswith(":") or (col is not None and indent > col)
                if listing:
                    desc.append(text)
                elif re.search(r"[A-Za-z]-$", desc[-1]) and text[:1].isalpha():
                    desc[-1] += text  # a word the wrap split at its hyphen
                else:
                    desc[-1] += " " + text
                i += 1
            if blocks and blocks[-1][0] == "opts":
                blocks[-1][1].append((spec, desc))
            else:
                blocks.append(("opts", [(spec, desc)]))
            continue
        if line.startswith(" "):
            pre = []
            while i < len(lines) and lines[i].startswith(" ") and not OPT_RE.match(lines[i]):
                pre.append(lines[i])
                i += 1
            blocks.append(("pre", pre))
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not lines[i].startswith(" "):
            para.append(lines[i].strip())
            i += 1
        text = para[0]
        for p in para[1:]:
            text += (p if re.search(r"[A-Za-z]-$", text) and p[:1].isalpha() else " " + p)
        if len(para) == 1 and text.endswith(":") and len(text) < 40 \
                and (i >= len(lines) or not lines[i].strip() or lines[i].startswith(" ")):
            blocks.append(("title", text[:-1]))
        else:
            blocks.append(("para", text))
    return summary, usage, blocks


def esc(s):
    """Roff text: backslashes, hyphen-minus (as \\- so that flags render as typed)."""
    return s.replace("\\", "\\e").replace("-", "\\-")


def line_safe(s):
    """A roff text line must not start with a control character."""
    return "\\&" + s if s[:1] in (".", "'") else s


def spec_roff(spec):
    """"--listen ADDR:PORT" -> bold flags, italic arguments."""
    out = []
    for tok in re.split(r"(\s+)", spec):
        if not tok or tok.isspace():
            out.append(tok)
        elif tok.startswith("-"):
            comma = tok.endswith(",")
            out.append("\\fB" + esc(tok.rstrip(",")) + "\\fR" + ("," if comma else ""))
        else:
            out.append("\\fI" + esc(tok) + "\\fR")
    return "".join(out)


def long_flags(blocks):
    """Every long flag an option line names, in order."""
    flags = []
    for kind, body in blocks:
        if kind != "opts":
            continue
        for spec, _ in body:
            for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", spec):
                if f not in flags:
                    flags.append(f)
    return flags


def env_name(prefix, flag):
    return prefix + flag[2:].upper().replace("-", "_")


def env_flags(blocks):
    return [f for f in long_flags(blocks) if f not in ("--help", "--version")]


def render_man(a, summary, usage, blocks):
    upper = a.name.upper()
    o = []
    o.append('.\\" Generated by dist/man/mkman.py from `%s --help`; do not edit.' % a.name)
    o.append('.TH %s 1 "" "%s %s" "User Commands"' % (upper, a.name, a.version))
    o.append(".nh")  # no hyphenation: flags and variable names are never split
    o.append(".SH NAME")
    o.append("%s \\- %s" % (a.name, esc(summary or a.summary or "")))
    o.append(".SH SYNOPSIS")
    o.append(".nf")
    for u in usage:
        o.append(line_safe(esc(u)))
    o.append(".fi")
    o.append(".SH DESCRIPTION")
    pending_pp = False
    for kind, body in blocks:
        if kind == "blank":
            pending_pp = True
            continue
        if kind == "title":
            o.append(".SS " + esc(body))
            pending_pp = False
            continue
        if pending_pp and kind in ("para", "pre"):
            o.append(".PP")
        pending_pp = False
        if kind == "para":
            o.append(line_safe(esc(body)))
        elif kind == "pre":
            o.append(".PP")
            o.append(".nf")
            o.append(".RS 2")
            for line in body:
                o.append(line_safe(esc(line[2:] if line.startswith("  ") else line)))
            o.append(".RE")
            o.append(".fi")
        elif kind == "opts":
            for spec, desc in body:
                o.append(".TP")
                o.append(spec_roff(spec))
                for k, dl in enumerate(desc):
                    if k > 0:
                        o.append(".br")
                    o.append(line_safe(esc(dl)))
    if a.env_prefix:
        o.append(".SH ENVIRONMENT")
        o.append("Each flag is also read from the environment variable below; "
                 "the command line wins.")
        for f in env_flags(blocks):
            o.append(".TP")
            o.append("\\fB%s\\fR" % esc(env_name(a.env_prefix, f)))
            o.append("as \\fB%s\\fR" % esc(f))
    if a.extra:
        with open(a.extra, encoding="utf-8") as fh:
            o.append(fh.read().rstrip("\n"))
    return "\n".join(o) + "\n"


def render_env(a, blocks):
    o = ["# %s settings: one SSEHUB_<NAME>=VALUE per line, read by the systemd unit" % a.name,
         "# (EnvironmentFile=-/etc/%s/%s.env). Generated from `%s --help`: every line is"
         % (a.name, a.name, a.name),
         "# commented out; the default is in brackets. The unit itself sets",
         "# SSEHUB_LISTEN=127.0.0.1:8080 and SSEHUB_STORE=lmdb:/var/lib/ssehub (what is set",
         "# here wins), and lets the hub write only there and in /var/log/ssehub (e.g.",
         "# SSEHUB_ACCESS_LOG=/var/log/ssehub/access.log; - logs to the journal).",
         "# Durations take ms, s, m or h; sizes k, M or G; repeatable flags a comma-separated",
         "# list; a flag without value is 1. See man %s(1)." % a.name, ""]
    for kind, body in blocks:
        if kind != "opts":
            continue
        for spec, desc in body:
            flags = [f for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", spec)
                     if f not in ("--help", "--version")]
            if not flags:
                continue
            arg = spec.split(None, 1)[1] if len(spec.split(None, 1)) > 1 else "1"
            o.append("# %s: %s" % (spec, " ".join(desc)))
            o.append("#%s=%s" % (env_name(a.env_prefix, flags[0]), arg))
            o.append("")
    return "\n".join(o)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["man", "env"])
    ap.add_argument("--prog", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="")
    ap.add_argument("--summary")
    ap.add_argument("--extra")
    ap.add_argument("--env-prefix")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    summary, usage, blocks = parse(run_help(a.prog), a.name)
    if not usage or not long_flags(blocks):
        sys.exit("mkman.py: %s --help: no usage line or no options found" % a.prog)
    text = render_man(a, summary, usage, blocks) if a.what == "man" else render_env(a, blocks)
    with open(a.out, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
