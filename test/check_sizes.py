#!/usr/bin/env python3
"""The project's size rules, enforced: every C++ file under src/ and include/ holds at most
400 lines, every function at most 60 (from the line its signature starts on to its closing
brace), and every class at most 300 lines of member functions (its inline member-function
bodies plus its out-of-line `Class::fn` definitions, summed over all files).

Prints each violation as `path:line: what (N > limit)` and exits 1 if there is any.
Usage: check_sizes.py [repository root]   (default: the parent of this script's folder)

The parser is a brace matcher, not a compiler: it blanks comments, string and character
literals and preprocessor lines, then reads each `{` at namespace or class scope as a
namespace, a class, a function body or an initializer by the text in front of it.
"""
import os
import re
import sys
from collections import defaultdict

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 300
ROOTS = ("src", "include")
SUFFIXES = (".cpp", ".hpp", ".cc", ".hh", ".h", ".cxx", ".hxx")

# The one exception: the table of config keys is data (one row per key, each with its type,
# default and checks), and splitting it would scatter the defaults that must live in one place.
# It is exempt from the file and function limits; classes are still counted.
EXEMPT = {"src/core/config_keys.cpp"}


def blank(text):
    """Comments, string and character literals and preprocessor lines replaced by spaces;
    newlines kept, so that offsets and line numbers stay those of the source."""
    out = list(text)
    n = len(text)
    i = 0
    line_start = True  # only whitespace since the last newline

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if line_start and c == "#":
            j = i
            while j < n and text[j] != "\n":
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    j += 2
                    continue
                if text.startswith("/*", j):  # a block comment may start on a directive line
                    end = text.find("*/", j + 2)
                    j = n if end < 0 else end + 2
                    continue
                j += 1
            wipe(i, j)
            i = j
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
            continue
        if c == '"':
            raw = re.search(r"(?:^|[^\w])(?:u8|u|U|L)?R$", text[max(0, i - 4) : i])
            if raw:
                m = re.match(r'"([^()\\\s]{0,16})\(', text[i:])
                if m:
                    end = text.find(")" + m.group(1) + '"', i)
                    j = n if end < 0 else end + len(m.group(1)) + 2
                    wipe(i + 1, j - 1)
                    i = j
                    continue
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, j)
            i = j + 1
            continue
        if c == "'":
            # A digit separator (1'000'000) is not a character literal.
            k = i - 1
            while k >= 0 and (text[k].isalnum() or text[k] in "'._"):
                k -= 1
            if k + 1 < i and text[k + 1].isdigit():
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != "'" and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, j)
            i = j + 1
            continue
        i += 1
    return "".join(out)


def match_braces(text):
    match = {}
    stack = []
    for i, c in enumerate(text):
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            match[stack.pop()] = i
    return match


OPERATOR = re.compile(r"operator\s*(\(\s*\)|\[\s*\]|<=>|<<=|>>=|->\*?|<<|>>|<=|>=|<|>|[^\s(\w]+)")
CLASS_HEAD = re.compile(r"^(?:typedef\s+)?(class|struct|union|enum)\b\s*(?:\[\[.*?\]\]\s*)?(\w*)")
LABEL = re.compile(r"^\s*(?:(?:public|private|protected)\s*:(?!:)\s*)+")
AFTER_PARAMS = re.compile(
    r"^(?:\s|const\b|volatile\b|noexcept\b|override\b|final\b|mutable\b|try\b|&|"
    r"\(.*?\)|->.*|requires\b.*)*$",
    re.S,
)


def strip_template_prefix(head):
    """`template <...>` and attributes in front of a declaration removed."""
    while True:
        head = head.lstrip()
        m = re.match(r"\[\[.*?\]\]", head, re.S)
        if m:
            head = head[m.end() :]
            continue
        if re.match(r"template\s*<", head):
            depth = 0
            for k in range(head.index("<"), len(head)):
                if head[k] == "<":
                    depth += 1
                elif head[k] == ">":
                    depth -= 1
                    if depth == 0:
                        head = head[k + 1 :]
                        break
            else:
                return head
            continue
        return head


def unclosed_parentheses(head):
    return head.count("(") > head.count(")")


def top_level(head):
    """`head` without what stands inside parentheses."""
    out = []
    depth = 0
    for c in head:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def parameter_list(head):
    """(name, index of the `(` that opens the parameter list, index of its `)`) in `head`, or
    None. Template arguments and operator names are masked so that their parentheses and angle
    brackets do not count."""
    masked = OPERATOR.sub(lambda m: "operator" + "_" * (m.end() - m.start() - 8), head)
    masked = masked.replace("->", "__")
    while True:
        nxt = re.sub(r"<[^<>;{}=]*>", lambda m: " " * len(m.group(0)), masked)
        if nxt == masked:
            break
        masked = nxt
    depth = 0
    for k, c in enumerate(masked):
        if c == "(":
            if depth == 0:
                m = re.search(r"((?:\w+\s*::\s*)*~?\w+)\s*$", masked[:k])
                if not m or re.fullmatch(r"decltype|alignas|__attribute__|noexcept", m.group(1)):
                    depth += 1
                    continue
                close = k
                d = 0
                for j in range(k, len(masked)):
                    if masked[j] == "(":
                        d += 1
                    elif masked[j] == ")":
                        d -= 1
                        if d == 0:
                            close = j
                            break
                else:
                    return None
                name = re.sub(r"\s+", "", head[m.start(1) : m.end(1)])
                return name, k, close
            depth += 1
        elif c == ")":
            depth -= 1
    return None


class Checker:
    def __init__(self):
        self.violations = []
        self.class_lines = defaultdict(int)  # class path -> lines of member functions
        self.class_where = {}  # class path -> (path, line) of its definition
        self.namespaces = set()

    def check_file(self, path, rel):
        with open(path, encoding="utf-8", errors="replace") as f:
            source = f.read()
        exempt = rel in EXEMPT
        lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
        if lines > MAX_FILE_LINES and not exempt:
            self.violations.append((rel, 1, f"file has {lines} lines", lines, MAX_FILE_LINES))
        text = blank(source)
        self.rel = rel
        self.exempt = exempt
        self.text = text
        self.match = match_braces(text)
        self.line_of = lambda pos: text.count("\n", 0, pos) + 1
        self.walk(0, len(text), [])

    def walk(self, start, end, classes):
        """Reads declarations from start to end at one scope; `classes` names the enclosing
        classes (empty at namespace scope)."""
        text = self.text
        pos = decl = start
        while pos < end:
            m = re.compile(r"[{};]").search(text, pos, end)
            if not m:
                return
            i = m.start()
            if text[i] != "{":
                pos = decl = i + 1
                continue
            close = self.match.get(i, end)
            head = text[decl:i]
            labelled = LABEL.match(head)
            offset = decl + (labelled.end() if labelled else 0)
            head = text[offset:i]
            kind, name = self.classify(head)
            if kind == "member-init":
                pos = close + 1
                continue
            if kind == "namespace":
                if name:
                    self.namespaces.add(name)
                self.walk(i + 1, close, classes)
            elif kind == "class":
                path = classes + [name or "<anonymous>"]
                key = "::".join(path)
                self.class_where.setdefault(key, (self.rel, self.line_of(i)))
                self.walk(i + 1, close, path)
            elif kind == "function":
                first = offset + len(head) - len(head.lstrip())
                line = self.line_of(first)
                length = self.line_of(close) - line + 1
                if length > MAX_FUNCTION_LINES and not self.exempt:
                    self.violations.append(
                        (self.rel, line, f"function {name} has {length} lines", length,
                         MAX_FUNCTION_LINES))
                owner = self.owner(name, classes)
                if owner:
                    self.class_lines[owner] += length
                    self.class_where.setdefault(owner, (self.rel, line))
            else:  # an initializer, an enum, a lambda at namespace scope
                pos = close + 1
                continue
            pos = decl = close + 1

    def classify(self, head):
        stripped = strip_template_prefix(head)
        if re.match(r"(?:inline\s+)?namespace\b", stripped):
            m = re.match(r"(?:inline\s+)?namespace\s*([\w:]*)", stripped)
            return "namespace", m.group(1)
        if re.match(r'extern\s*"', stripped):
            return "namespace", ""
        if unclosed_parentheses(stripped):
            return "member-init", ""  # a `{...}` argument or a lambda inside `( )`
        m = CLASS_HEAD.match(stripped)
        if m and "(" not in stripped[m.end() :]:
            if m.group(1) == "enum":
                return "other", ""
            return "class", m.group(2)
        if re.search(r"(?<![=!<>+\-*/%&|^])=(?!=)", top_level(OPERATOR.sub("operator", stripped))):
            return "other", ""  # `x = {...}` or `x = [] {...}`
        params = parameter_list(stripped)
        if not params:
            return "other", ""
        name, _, close = params
        rest = stripped[close + 1 :]
        init = re.match(r"\s*(?:noexcept\b\s*(?:\(.*?\))?\s*)?:(?!:)", rest, re.S)
        if init:
            # In a constructor's initializer list, `member_{...}` is an initializer; the body is
            # the brace after `)` or `}`.
            if re.search(r"[\w>]\s*$", rest):
                return "member-init", name
            return "function", name
        if AFTER_PARAMS.match(rest):
            return "function", name
        return "other", ""

    def owner(self, name, classes):
        """The class a function belongs to: the enclosing class for an inline member, the
        qualifier for an out-of-line `Class::fn` (namespaces dropped)."""
        parts = [p for p in name.split("::")[:-1] if p]
        while parts and parts[0] in self.namespaces:
            parts.pop(0)
        path = classes + parts
        return "::".join(path) if path else None

    def finish(self):
        for key, lines in sorted(self.class_lines.items()):
            if lines > MAX_CLASS_LINES:
                rel, line = self.class_where[key]
                self.violations.append(
                    (rel, line, f"class {key} has {lines} lines of member functions", lines,
                     MAX_CLASS_LINES))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    root = os.path.abspath(root)
    files = []
    for top in ROOTS:
        for folder, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith(SUFFIXES):
                    full = os.path.join(folder, n)
                    files.append((full, os.path.relpath(full, root)))
    if not files:
        print(f"check_sizes.py: no C++ files under {root}/src or {root}/include")
        return 1
    checker = Checker()
    # Namespaces first, so that an out-of-line `ns::Class::fn` finds its class whatever the
    # order of the files.
    for full, _ in files:
        with open(full, encoding="utf-8", errors="replace") as f:
            for m in re.finditer(r"\bnamespace\s+([\w:]+)", blank(f.read())):
                checker.namespaces.update(m.group(1).split("::"))
    for full, rel in sorted(files, key=lambda f: f[1]):
        checker.check_file(full, rel)
    checker.finish()
    for rel, line, what, n, limit in sorted(checker.violations):
        print(f"{rel}:{line}: {what} ({n} > {limit})")
    if checker.violations:
        print(f"check_sizes.py: {len(checker.violations)} violation(s) of the size rules")
        return 1
    print(f"check_sizes.py: {len(files)} files within the size rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
