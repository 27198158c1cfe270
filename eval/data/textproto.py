"""A schema-less reader and writer of protobuf text format (pipeline.config, label maps).

There is no object_detection package and so no compiled protos: messages are parsed into
`Message` objects (field name -> list of values, in file order) and typed accessors check types
as they read. Unknown fields are kept, never rejected, so real zoo configs load whatever the
TF OD API version that wrote them.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Iterator, Union


class TextFormatError(ValueError):
  """Broken syntax or a value of the wrong type; the message names file, line and problem."""

  def __init__(self, path: str, line: int, message: str):
    super().__init__(f"{path}:{line}: {message}")
    self.path = path
    self.line = line


class Identifier(str):
  """A bare word value (enum, `true`/`false`), as opposed to a quoted string."""


Value = Union[str, int, float, Identifier, "Message"]


@dataclasses.dataclass
class Message:
  """A parsed message: repeated and singular fields alike are lists of values in file order."""
  path: str = dataclasses.field(default="<string>", repr=False)
  line: int = dataclasses.field(default=0, repr=False)  # where it starts, for error messages
  fields: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
  lines: dict[str, list[int]] = dataclasses.field(default_factory=dict, repr=False)

  def add(self, name: str, value: Value, line: int) -> None:
    self.fields.setdefault(name, []).append(value)
    self.lines.setdefault(name, []).append(line)

  def has(self, name: str) -> bool:
    return name in self.fields

  def which(self, *names: str) -> str | None:
    """The name of the oneof member that is set (the last one, as the proto parser keeps)."""
    present = [(self.lines[n][-1], n) for n in names if n in self.fields]
    return max(present)[1] if present else None

  def first_field(self) -> str | None:
    """The first field set, e.g. the oneof member of a wrapper such as `model { ssd {...} }`."""
    return next(iter(self.fields), None)

  def _error(self, name: str, index: int, problem: str) -> TextFormatError:
    return TextFormatError(self.path, self.lines[name][index], f"field '{name}': {problem}")

  def _last(self, name: str) -> tuple[Any, int] | None:
    values = self.fields.get(name)
    return (values[-1], len(values) - 1) if values else None  # singular: the last one wins

  def message(self, name: str) -> Message:
    """The sub-message `name`, or an empty one (all defaults) when absent."""
    found = self._last(name)
    if found is None:
      return Message(self.path, self.line)
    value, index = found
    if not isinstance(value, Message):
      raise self._error(name, index, f"expected a message, got {value!r}")
    return value

  def messages(self, name: str) -> list[Message]:
    out = []
    for index, value in enumerate(self.fields.get(name, [])):
      if not isinstance(value, Message):
        raise self._error(name, index, f"expected a message, got {value!r}")
      out.append(value)
    return out

  def _scalar(self, name: str, index: int, value: Any, kind: str) -> Any:
    if kind == "string":
      if isinstance(value, str) and not isinstance(value, Identifier):
        return str(value)
    elif kind == "enum":
      if isinstance(value, Identifier):
        return str(value)
    elif kind == "bool":
      if isinstance(value, Identifier) and value in _BOOLS:
        return _BOOLS[value]
      if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    elif kind == "int":
      if isinstance(value, int):
        return value
    elif kind == "float":
      if isinstance(value, (int, float)):
        return float(value)
      if isinstance(value, Identifier) and value.lower() in _FLOAT_WORDS:
        return _FLOAT_WORDS[value.lower()]
    raise self._error(name, index, f"expected {'an' if kind[0] in 'aeiou' else 'a'} {kind}, "
                      f"got {value!r}")

  def get(self, name: str, kind: str, default: Any = None) -> Any:
    """The singular scalar `name` as `kind` (string, enum, bool, int, float), or `default`."""
    found = self._last(name)
    if found is None:
      return default
    value, index = found
    return self._scalar(name, index, value, kind)

  def get_all(self, name: str, kind: str) -> list[Any]:
    return [self._scalar(name, i, v, kind) for i, v in enumerate(self.fields.get(name, []))]


_BOOLS = {"true": True, "True": True, "t": True, "false": False, "False": False, "f": False}
_FLOAT_WORDS = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}

# One token per match; `#` comments and whitespace are skipped by the tokenizer loop.
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+|\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?)(?![\w.]))
  | (?P<signed_word>-[A-Za-z_]\w*)
  | (?P<word>[A-Za-z_][\w.]*)
  | (?P<symbol>[{}<>:,;\[\]/])
""", re.VERBOSE)

_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\",
    "'": "'", '"': '"', "?": "?"
}


@dataclasses.dataclass
class _Token:
  kind: str
  text: str
  line: int


def _unescape(body: str, path: str, line: int) -> str:
  """C-style escapes as the protobuf tokenizer accepts them; octal/hex are bytes (UTF-8)."""
  out = bytearray()
  i = 0
  while i < len(body):
    c = body[i]
    if c != "\\":
      out += c.encode("utf-8")
      i += 1
      continue
    i += 1
    e = body[i]
    if e in _SIMPLE_ESCAPES:
      out += _SIMPLE_ESCAPES[e].encode()
      i += 1
    elif e in "01234567":
      m = re.match(r"[0-7]{1,3}", body[i:])
      out.append(int(m.group(), 8) & 0xFF)
      i += len(m.group())
    elif e in "xX":
      m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 1:])
      if not m:
        raise TextFormatError(path, line, "invalid \\x escape in string")
      out.append(int(m.group(), 16))
      i += 1 + len(m.group())
    elif e in "uU":
      n = 4 if e == "u" else 8
      digits = body[i + 1:i + 1 + n]
      if not re.fullmatch(r"[0-9a-fA-F]{%d}" % n, digits):
        raise TextFormatError(path, line, f"invalid \\{e} escape in string")
      out += chr(int(digits, 16)).encode("utf-8")
      i += 1 + n
    else:
      raise TextFormatError(path, line, f"invalid escape '\\{e}' in string")
  try:
    return out.decode("utf-8")
  except UnicodeDecodeError as e:
    raise TextFormatError(path, line, f"string is not valid UTF-8 ({e})") from None


def _tokens(text: str, path: str) -> Iterator[_Token]:
  line, pos = 1, 0
  while pos < len(text):
    m = _TOKEN.match(text, pos)
    if not m:
      snippet = text[pos:pos + 20].split("\n")[0]
      what = ("unterminated string"
              if text[pos] in "\"'" else f"unexpected character(s) {snippet!r}")
      raise TextFormatError(path, line, what)
    pos = m.end()
    kind = m.lastgroup
    if kind == "newline":
      line += 1
    elif kind != "space":
      yield _Token(kind, m.group(), line)
  yield _Token("end", "", line)


def _number(text: str) -> int | float:
  body = text[:-1] if text[-1] in "fF" and not text.lower().startswith(("0x", "-0x")) else text
  if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", body):
    return int(body, 16)
  if re.fullmatch(r"-?\d+", body) and text == body:
    return int(body)
  return float(body)


class _Parser:

  def __init__(self, text: str, path: str):
    self.path = path
    self.tokens = _tokens(text, path)
    self.tok = next(self.tokens)

  def error(self, message: str, line: int | None = None) -> TextFormatError:
    return TextFormatError(self.path, self.tok.line if line is None else line, message)

  def advance(self) -> _Token:
    tok, self.tok = self.tok, next(self.tokens)
    return tok

  def accept(self, symbol: str) -> bool:
    if self.tok.kind == "symbol" and self.tok.text == symbol:
      self.advance()
      return True
    return False

  def describe(self) -> str:
    return "end of file" if self.tok.kind == "end" else repr(self.tok.text)

  def parse_message(self, message: Message, close: str | None) -> Message:
    while True:
      if close is None and self.tok.kind == "end":
        return message
      if close is not None and self.accept(close):
        return message
      if self.tok.kind == "end":
        raise self.error(f"missing '{close}' to close the message opened on line {message.line}")
      if self.tok.kind == "symbol" and self.tok.text in "}>":
        expected = f"'{close}'" if close else "a field name (no message is open)"
        raise self.error(f"unexpected '{self.tok.text}': expected {expected}")
      self.parse_field(message)
      if not self.accept(","):
        self.accept(";")

  def field_name(self) -> str:
    if self.accept("["):  # extension or Any type URL: [pkg.ext] or [type.googleapis.com/pkg.M]
      parts = []
      while not self.accept("]"):
        if self.tok.kind not in ("word", "symbol") or self.tok.text in "{}<>:,;[":
          raise self.error(f"expected an extension name, got {self.describe()}")
        parts.append(self.advance().text)
      return "[" + "".join(parts) + "]"
    if self.tok.kind != "word":
      raise self.error(f"expected a field name, got {self.describe()}")
    return self.advance().text

  def parse_field(self, message: Message) -> None:
    line = self.tok.line
    name = self.field_name()
    has_colon = self.accept(":")
    if self.tok.kind == "symbol" and self.tok.text in "{<":
      message.add(name, self.parse_submessage(), line)
      return
    if not has_colon:
      raise self.error(f"expected ':' or '{{' after field name '{name}', got {self.describe()}")
    if self.accept("["):  # repeated scalars (or messages): field: [a, b, c]
      if self.accept("]"):
        return
      while True:
        if self.tok.kind == "symbol" and self.tok.text in "{<":
          message.add(name, self.parse_submessage(), self.tok.line)
        else:
          value_line = self.tok.line
          message.add(name, self.parse_scalar(name), value_line)
        if self.accept("]"):
          return
        if not self.accept(","):
          raise self.error(f"expected ',' or ']' in the list of '{name}', got {self.describe()}")
    message.add(name, self.parse_scalar(name), line)

  def parse_submessage(self) -> Message:
    open_tok = self.advance()
    close = "}" if open_tok.text == "{" else ">"
    return self.parse_message(Message(self.path, open_tok.line), close)

  def parse_scalar(self, name: str) -> Value:
    tok = self.tok
    if tok.kind == "string":
      parts = []
      while self.tok.kind == "string":  # adjacent literals concatenate, as in C
        parts.append(_unescape(self.tok.text[1:-1], self.path, self.tok.line))
        self.advance()
      return "".join(parts)
    if tok.kind == "number":
      self.advance()
      return _number(tok.text)
    if tok.kind == "word":
      self.advance()
      return Identifier(tok.text)
    if tok.kind == "signed_word" and tok.text[1:].lower() in ("inf", "infinity", "nan"):
      self.advance()
      return -_FLOAT_WORDS[tok.text[1:].lower()]
    raise self.error(f"expected a value for field '{name}', got {self.describe()}")


def parse(text: str, path: str = "<string>") -> Message:
  """Parses a whole text-format message; raises TextFormatError (file:line: problem)."""
  return _Parser(text, path).parse_message(Message(path, 1), close=None)


def parse_file(path: str) -> Message:
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise FileNotFoundError(f"{path}: cannot read ({e.strerror})") from e
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    line = data[:e.start].count(b"\n") + 1
    raise TextFormatError(path, line, "not UTF-8 text (is it a binary protobuf?)") from None
  return parse(text, path)


def quote(value: str) -> str:
  """A double-quoted text-format string literal."""
  out = []
  for c in value:
    if c in "\\\"'":
      out.append("\\" + c)
    elif c == "\n":
      out.append("\\n")
    elif c in "\t\r" or ord(c) < 0x20 or ord(c) == 0x7F:
      out.append("\\%03o" % ord(c))
    else:
      out.append(c)
  return '"' + "".join(out) + '"'
