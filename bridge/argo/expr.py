"""Argo's two condition languages: DAG `depends` and govaluate `when`. Pure, no I/O.

Public interface: `TASK_NAME` (the task-name pattern of `depends`), `task_depends`,
`evaluate_depends`, `task_results`, `GUARDED_OUTPUT` (bridge's one expression tag), `parse_when` (lex, syntax check and parse, no evaluation:
what `bridge lint` checks), `evaluate_when` (what `bridge run` decides with) and `ExpressionError`.

`depends` follows workflow/common/ancestry.go (GetTaskDependencies, expandDependency) and
workflow/controller/dag.go (evaluateDependsLogic); `when` follows
workflow/controller/steps.go (shouldExecute) on top of github.com/Knetic/govaluate at the
commit Argo v4.1.2 pins (7625b7f): parsing.go, stagePlanner.go, evaluationStage.go.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")

# ancestry.go taskNameRegex: "name.Result" first, else a bare task name (leftmost-first, like RE2).
TASK_NAME = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")


# The one expr-lang tag bridge emits (bridge.semantics.guarded_ref): output P of DAG task U (or
# U's exit code, `exitCode`), or the default D when U has none. expr-lang's `get` is a nil-safe
# index and `??` takes D when the left side is nil (expr v1.16.9 builtin/builtin.go `get`,
# vm/runtime Fetch); Argo's strict check sees only the identifiers `tasks` and `tasks.U`
# (util/template/expression_template.go getIdentifiers: `get(...)` is no member path).
# Groups: U, P (None for the exit code), D; `guarded_variable` names the variable it reads.
GUARDED_OUTPUT = re.compile(
    r"=get\(tasks\['([a-z0-9-]+)'\],'(?:outputs'\)\?\.parameters\?\.([a-zA-Z0-9_-]+)|exitCode'\))\?\?'([^']*)'"
)


def guarded_variable(match: re.Match[str]) -> str:
    """The scope variable a GUARDED_OUTPUT match reads: tasks.U.outputs.parameters.P or tasks.U.exitCode."""
    task, output = match.group(1), match.group(2)
    return f"tasks.{task}.outputs.parameters.{output}" if output is not None else f"tasks.{task}.exitCode"


def depends_names(depends: str) -> set[str]:
    """The task names a `depends` expression names, tokenised as ancestry.go does (`a.Succeeded` -> a)."""
    names = {(match.group(1) or match.group(2)).split(".", 1)[0] for match in TASK_NAME.finditer(depends)}
    return names - {"true", "false"}


class ExpressionError(ValueError):
    """A `depends` or `when` expression Argo could not evaluate (the node ends in Error)."""


# ---- depends ---------------------------------------------------------------------------------


def _expand_dependency(name: str, continue_on: Mapping[str, Any] | None) -> str:
    """ancestry.go expandDependency: a bare name means Succeeded, Skipped or Daemoned (+ continueOn)."""
    terms = [f"{name}.Succeeded", f"{name}.Skipped", f"{name}.Daemoned"]
    if continue_on:
        if continue_on.get("error"):
            terms.append(f"{name}.Errored")
        if continue_on.get("failed"):
            terms.append(f"{name}.Failed")
    return "(" + " || ".join(terms) + ")"


def task_depends(task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], str]:
    """ancestry.go GetTaskDependencies: (the tasks `task` waits for, its depends logic with bare names expanded)."""
    depends = task.get("depends") or ""
    if not depends:
        # getTaskDependsLogic: the legacy list is the conjunction of expanded names.
        depends = " && ".join(
            _expand_dependency(dep, (tasks.get(dep) or {}).get("continueOn")) for dep in task.get("dependencies") or []
        )
    dependencies: dict[str, None] = {}
    bare: list[tuple[int, int, str]] = []
    for match in TASK_NAME.finditer(depends):
        if match.group(1):
            dependencies.setdefault(match.group(1).split(".", 1)[0], None)
        else:
            dependencies.setdefault(match.group(2), None)
            bare.append((match.start(2), match.end(2), match.group(2)))
    for name in dependencies:
        if name not in tasks:
            raise ExpressionError(f"task {task.get('name')!r} depends on {name!r}, which is not a task of this DAG")
    for start, end, name in sorted(bare, reverse=True):
        depends = depends[:start] + _expand_dependency(name, tasks[name].get("continueOn")) + depends[end:]
    return list(dependencies), depends


_DEPENDS_TOKEN = re.compile(r"\s*(?:(&&|\|\||!|\(|\))|([A-Za-z0-9_]+(?:\.[A-Za-z]+)?))")


def evaluate_depends(logic: str, results: Mapping[str, Mapping[str, bool]]) -> bool:
    """dag.go evaluateDependsLogic: evaluate resolved logic over each dependency's TaskResults."""
    # Argo replaces '-' by '_' so expr-lang reads task names as identifiers; do the same.
    text = logic.replace("-", "_")
    scope = {name.replace("-", "_"): fields for name, fields in results.items()}
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _DEPENDS_TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unable to evaluate expression {logic!r}: unexpected {text[pos:].strip()[:20]!r}")
        tokens.append(match.group(1) or match.group(2))
        pos = match.end()
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        if index >= len(tokens):
            raise ExpressionError(f"unable to evaluate expression {logic!r}: unexpected end")
        index += 1
        return tokens[index - 1]

    def parse_or() -> bool:
        value = parse_and()
        while peek() in ("||", "or"):
            take()
            right = parse_and()
            value = value or right
        return value

    def parse_and() -> bool:
        value = parse_not()
        while peek() in ("&&", "and"):
            take()
            right = parse_not()
            value = value and right
        return value

    def parse_not() -> bool:
        if peek() in ("!", "not"):
            take()
            return not parse_not()
        return parse_atom()

    def parse_atom() -> bool:
        token = take()
        if token == "(":
            value = parse_or()
            if take() != ")":
                raise ExpressionError(f"unable to evaluate expression {logic!r}: unbalanced parentheses")
            return value
        if token in ("true", "false"):
            return token == "true"
        name, _, field = token.partition(".")
        if name not in scope or field not in RESULTS:
            raise ExpressionError(f"unable to evaluate expression {logic!r}: unknown name {token!r}")
        return bool(scope[name].get(field, False))

    value = parse_or()
    if index != len(tokens):
        raise ExpressionError(f"unable to evaluate expression {logic!r}: unexpected {tokens[index]!r}")
    return value


def task_results(phase: str, children: Sequence[str] | None = None) -> dict[str, bool]:
    """dag.go TaskResults for a node in `phase`; `children`: the phases of a TaskGroup's (a loop's) children.

    Never Daemoned: no daemon runs outside Kubernetes.
    """
    kids = list(children or [])
    return {
        "Succeeded": phase == "Succeeded",
        "Failed": phase == "Failed",
        "Errored": phase == "Error",
        "Skipped": phase == "Skipped",
        "Omitted": phase == "Omitted",
        "Daemoned": False,
        "AnySucceeded": any(kid == "Succeeded" for kid in kids),
        "AllFailed": bool(kids) and all(kid == "Failed" for kid in kids),
    }


# ---- when (govaluate, with Argo's "bare words are strings") ----------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # NUMERIC STRING BOOLEAN ACCESSOR SEPARATOR PREFIX MODIFIER LOGICALOP COMPARATOR TERNARY ( )
    value: Any


_PREFIX = {"-", "!", "~"}
_MODIFIERS = {"+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"}
_LOGICAL = {"&&", "||"}
_COMPARATORS = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"}
_TERNARY = {"?", ":", "??"}
# Value-like tokens after which a symbol is binary, not a prefix (lexerState.canTransitionTo(PREFIX)).
_VALUE_KINDS = {"NUMERIC", "STRING", "BOOLEAN", "ACCESSOR", "PATTERN", ")"}
# govaluate tryParseTime, the ISO forms (Argo's controller runs in UTC; govaluate uses time.Local).
_TIME_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z")


def _try_time(text: str) -> float | None:
    candidate = text[:-1] + "+0000" if text.endswith("Z") else text
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(candidate, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return float(int(parsed.timestamp()))
    return None


def _is_symbol_char(ch: str) -> bool:
    """parsing.go isNotAlphanumeric."""
    return not (ch.isdigit() or ch.isalpha() or ch in "()[]'\"")


def _read(text: str, pos: int, accept: Callable[[str], bool]) -> tuple[str, int]:
    """parsing.go readUntilFalse(breakWhitespace): characters while `accept`, stopping at whitespace."""
    out = []
    while pos < len(text) and not text[pos].isspace() and accept(text[pos]):
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 1
        out.append(text[pos])
        pos += 1
    return "".join(out), pos


def _lex(expression: str) -> list[_Token]:
    """parsing.go readToken, with steps.go shouldExecute turning VARIABLE tokens into STRING."""
    tokens: list[_Token] = []
    pos = 0
    text = expression
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        prev = tokens[-1].kind if tokens else None
        if ch.isdigit() or ch == ".":
            if text.startswith("0x", pos):
                digits, pos = _read(text, pos + 2, lambda c: c in "0123456789abcdefABCDEF")
                try:
                    tokens.append(_Token("NUMERIC", float(int(digits, 16))))
                except ValueError:
                    raise ExpressionError(f"Unable to parse hex value '{digits}' to uint64") from None
                continue
            digits, pos = _read(text, pos, lambda c: c.isdigit() or c == ".")
            try:
                tokens.append(_Token("NUMERIC", float(digits)))
            except ValueError:
                raise ExpressionError(f"Unable to parse numeric value '{digits}' to float64") from None
            continue
        if ch == ",":
            tokens.append(_Token("SEPARATOR", ","))
            pos += 1
            continue
        if ch == "[":
            end = text.find("]", pos + 1)
            if end < 0:
                raise ExpressionError("Unclosed parameter bracket")
            tokens.append(_Token("STRING", text[pos + 1 : end]))
            pos = end + 1
            continue
        if ch.isalpha():
            word, pos = _read(text, pos, lambda c: c.isalpha() or c.isdigit() or c in "_.")
            if word in ("true", "false"):
                tokens.append(_Token("BOOLEAN", word == "true"))
            elif word in ("in", "IN"):
                tokens.append(_Token("COMPARATOR", "in"))
            elif "." in word:
                # An ACCESSOR stays an accessor in Argo (only VARIABLE becomes STRING) and fails later.
                if word.endswith("."):
                    raise ExpressionError(f"Hanging accessor on token '{word}'")
                for part in word.split(".")[1:]:
                    if part[:1].upper() != part[:1]:
                        raise ExpressionError(f"Unable to access unexported field '{part}' in token '{word}'")
                tokens.append(_Token("ACCESSOR", word))
            else:
                tokens.append(_Token("STRING", word))
            continue
        if ch in "'\"":
            # govaluate ends a string at EITHER quote character: '["a"]' is not one string.
            out = []
            pos += 1
            while pos < len(text) and text[pos] not in "'\"":
                if text[pos] == "\\" and pos + 1 < len(text):
                    pos += 1
                out.append(text[pos])
                pos += 1
            if pos >= len(text):
                raise ExpressionError("Unclosed string literal")
            pos += 1
            value = "".join(out)
            stamp = _try_time(value)
            tokens.append(_Token("NUMERIC", stamp) if stamp is not None else _Token("STRING", value))
            continue
        if ch in "()":
            tokens.append(_Token(ch, ch))
            pos += 1
            continue
        symbol, pos = _read(text, pos, _is_symbol_char)
        if symbol in _PREFIX and prev not in _VALUE_KINDS:
            tokens.append(_Token("PREFIX", symbol))
        elif symbol in _MODIFIERS:
            tokens.append(_Token("MODIFIER", symbol))
        elif symbol in _LOGICAL:
            tokens.append(_Token("LOGICALOP", symbol))
        elif symbol in _COMPARATORS:
            tokens.append(_Token("COMPARATOR", symbol))
        elif symbol in _TERNARY:
            tokens.append(_Token("TERNARY", symbol))
        else:
            raise ExpressionError(f"Invalid token: '{symbol}'")
    return tokens


# govaluate precedence, loosest first (stagePlanner.go: ternary < || < && < comparator < bitwise < shift
# < additive < multiplicative < exponential < prefix).
_LEVELS: Sequence[tuple[str, frozenset[str]]] = (
    ("TERNARY", frozenset(_TERNARY)),
    ("LOGICALOP", frozenset({"||"})),
    ("LOGICALOP", frozenset({"&&"})),
    ("COMPARATOR", frozenset(_COMPARATORS)),
    ("MODIFIER", frozenset({"&", "|", "^"})),
    ("MODIFIER", frozenset({">>", "<<"})),
    ("MODIFIER", frozenset({"+", "-"})),
    ("MODIFIER", frozenset({"*", "/", "%"})),
    ("MODIFIER", frozenset({"**"})),
)


def _go_value(value: Any) -> str:
    """fmt %v of a govaluate value (string concatenation and messages): floats as Go's shortest %g."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, float):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    sign, digits_tuple, exp = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple))
    exponent = len(digits) + int(exp) - 1
    prefix = "-" if sign else ""
    # strconv 'g' with shortest precision switches to %e when exponent < -4 or >= 6.
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    return prefix + format(Decimal(digits).scaleb(int(exp)), "f")


class _Parser:
    """Recursive descent over govaluate's precedence levels; left-associative like reorderStages."""

    def __init__(self, tokens: list[_Token], expression: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.expression = expression

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"Unexpected end of expression '{self.expression}'")
        self.index += 1
        return token

    def parse(self) -> Any:
        node = self.level(0)
        if self.peek() is not None:
            raise ExpressionError(f"Unexpected token '{self.peek().value}' in '{self.expression}'")  # type: ignore[union-attr]
        return node

    def level(self, depth: int) -> Any:
        if depth == len(_LEVELS):
            return self.prefix()
        kind, symbols = _LEVELS[depth]
        node = self.level(depth + 1)
        while (token := self.peek()) is not None and token.kind == kind and token.value in symbols:
            self.take()
            node = ("binary", token.value, node, self.level(depth + 1))
        return node

    def prefix(self) -> Any:
        token = self.peek()
        if token is not None and token.kind == "PREFIX":
            self.take()
            return ("prefix", token.value, self.prefix())
        return self.value()

    def value(self) -> Any:
        token = self.take()
        if token.kind == "(":
            node = self.level(0)
            items = [node]
            while (sep := self.peek()) is not None and sep.kind == "SEPARATOR":
                self.take()
                items.append(self.level(0))
            if self.take().kind != ")":
                raise ExpressionError(f"Unbalanced parenthesis in '{self.expression}'")
            return ("array", items) if len(items) > 1 else node
        if token.kind in ("NUMERIC", "STRING", "BOOLEAN"):
            return ("literal", token.value)
        if token.kind == "ACCESSOR":
            return ("accessor", token.value)
        raise ExpressionError(f"Unexpected token '{token.value}' in '{self.expression}'")


# govaluate's ordering comparators, on two numbers or two strings (checked before).
_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _same(left: Any, right: Any) -> bool:
    """reflect.DeepEqual on govaluate values: types must match (true != 1)."""
    return type(left) is type(right) and left == right


def _regex(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ExpressionError(f"Unable to compile regexp pattern '{pattern}': {error}") from None


def _evaluate_logical(node: Any, expression: str) -> bool:
    """A left-nested chain of one logical operator, iteratively (a join over 1,000 upstreams is
    1,000 levels deep); same short-circuit and type checks as evaluating it level by level."""
    symbol = node[1]
    rights = []
    while node[0] == "binary" and node[1] == symbol:
        rights.append(node[3])
        node = node[2]
    result = _evaluate(node, expression)
    for right_node in reversed(rights):
        if (symbol == "&&" and result is False) or (symbol == "||" and result is True):
            return result
        right = _evaluate(right_node, expression)
        for value in (result, right):
            if not isinstance(value, bool):
                raise ExpressionError(
                    f"Value '{_go_value(value)}' cannot be used with the logical operator '{symbol}', it is not a bool"
                )
        result = result and right if symbol == "&&" else result or right
    return result


def _evaluate(node: Any, expression: str) -> Any:
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "accessor":
        raise ExpressionError(f"No parameter '{node[1].split('.')[0]}' found.")
    if kind == "array":
        return [_evaluate(item, expression) for item in node[1]]
    if kind == "prefix":
        value = _evaluate(node[2], expression)
        if node[1] == "!":
            if not isinstance(value, bool):
                raise ExpressionError(f"Value '{_go_value(value)}' cannot be used with the prefix '!'")
            return not value
        if not isinstance(value, float):
            raise ExpressionError(f"Value '{_go_value(value)}' cannot be used with the prefix '{node[1]}'")
        return -value if node[1] == "-" else float(~int(value))
    _, symbol, left_node, right_node = node
    if symbol in ("&&", "||"):
        return _evaluate_logical(node, expression)
    left = _evaluate(left_node, expression)
    # evaluateStage short-circuits before evaluating (and type-checking) the right side.
    if symbol in ("??", ":") and left is not None:
        return left
    if symbol == "?" and left is False:
        return None
    right = _evaluate(right_node, expression)
    if symbol == "==":
        return _same(left, right)
    if symbol == "!=":
        return not _same(left, right)
    if symbol in ("=~", "!~"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise ExpressionError(f"Value '{_go_value(left)}' cannot be used with the comparator '{symbol}'")
        found = _regex(right).search(left) is not None
        return found if symbol == "=~" else not found
    if symbol in (">", ">=", "<", "<="):
        if not (isinstance(left, float) and isinstance(right, float)) and not (
            isinstance(left, str) and isinstance(right, str)
        ):
            raise ExpressionError(
                f"Value '{_go_value(left)}' cannot be used with the comparator '{symbol}', it is not a number"
            )
        return _ORDER[symbol](left, right)
    if symbol == "in":
        if not isinstance(right, list):
            raise ExpressionError(f"Value '{_go_value(right)}' cannot be used with the comparator 'in'")
        return any(_same(left, item) for item in right)
    if symbol == "?":
        if not isinstance(left, bool):
            raise ExpressionError(f"Value '{_go_value(left)}' cannot be used with the ternary operator '?'")
        return right
    if symbol in ("??", ":"):
        return right
    if symbol == "+" and (isinstance(left, str) or isinstance(right, str)):
        return f"{_go_value(left)}{_go_value(right)}"
    if not isinstance(left, float) or not isinstance(right, float) or isinstance(left, bool) or isinstance(right, bool):
        raise ExpressionError(f"Value '{_go_value(left)}' cannot be used with the modifier '{symbol}', it is not a number")
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left - right
    if symbol == "*":
        return left * right
    if symbol == "/":
        return left / right if right else (math.copysign(math.inf, left) if left else math.nan)
    if symbol == "%":
        return float(math.fmod(left, right)) if right else math.nan
    if symbol == "**":
        return math.pow(left, right)
    ints = int(left), int(right)
    return float(
        {"&": ints[0] & ints[1], "|": ints[0] | ints[1], "^": ints[0] ^ ints[1], ">>": ints[0] >> ints[1], "<<": ints[0] << ints[1]}[
            symbol
        ]
    )


_OPERAND_KINDS = {"NUMERIC", "STRING", "BOOLEAN", "ACCESSOR"}


def _check_syntax(tokens: list[_Token]) -> None:
    """govaluate checkExpressionSyntax: two operands in a row (e.g. a string cut short by a quote) are invalid."""
    for left, right in zip(tokens, tokens[1:]):
        if left.kind in _OPERAND_KINDS | {")"} and right.kind in _OPERAND_KINDS | {"("}:
            raise ExpressionError(
                f"Cannot transition token types from {left.kind} [{_go_value(left.value)}] "
                f"to {right.kind} [{_go_value(right.value)}]"
            )


def parse_when(expression: str) -> Any:
    """govaluate's NewEvaluableExpression: lex, check the syntax and parse (the tree), no evaluation.

    Raises ExpressionError as govaluate reports it (without steps.go's "Invalid 'when'" prefix).
    """
    tokens = _lex(expression)
    _check_syntax(tokens)
    return _Parser(tokens, expression).parse()


def evaluate_when(when: str) -> bool:
    """steps.go shouldExecute: True for an empty `when`, else govaluate's boolean result."""
    if not when:
        return True
    try:
        result = _evaluate(parse_when(when), when)
    except ExpressionError as error:
        raise ExpressionError(f"Invalid 'when' expression '{when}': {error}") from None
    except (OverflowError, ValueError) as error:
        raise ExpressionError(f"Failed to evaluate 'when' expression '{when}': {error}") from None
    if not isinstance(result, bool):
        raise ExpressionError(f"Expected boolean evaluation for '{when}'. Got {_go_value(result)}")
    return result


# ---------------------------------------------------------------------------- retry expressions
# retryStrategy.expression is github.com/expr-lang/expr (operator.go processNodeRetries,
# util/expr EvalBool), evaluated over buildRetryStrategyLocalScope: `retries` and
# `lastRetry.{exitCode,status,duration,message}`, all strings. `bridge run` evaluates the part of
# that language a retry condition needs: literals, names, asInt/asFloat, comparisons, `in`, and
# `and`/`or`/`not` (also `&&`, `||`, `!`); anything else is refused by name.

_RETRY_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],?:])|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"
)
_RETRY_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"asInt": int, "asFloat": float, "string": str}


def _retry_tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expression):
        if expression[pos:].strip() == "":
            break
        match = _RETRY_TOKEN.match(expression, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected {expression[pos:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _RetryParser:
    """Recursive descent over expr's precedence: ternary < or < and < not < comparison < primary."""

    def __init__(self, tokens: list[tuple[str, str]], scope: Mapping[str, str]) -> None:
        self.tokens, self.pos, self.scope = tokens, 0, scope

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.ternary()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return value

    def ternary(self) -> Any:
        condition = self.disjunction()
        if self.peek() != "?":
            return condition
        self.take("?")
        chosen = self.ternary()
        self.take(":")
        other = self.ternary()
        # Both branches are parsed (and evaluated: their names must be in scope), one is taken.
        return chosen if _truth(condition) else other

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self.peek() in ("or", "||"):
            self.take()
            right = self.conjunction()
            value = _truth(value) or _truth(right)
        return value

    def conjunction(self) -> Any:
        value = self.negation()
        while self.peek() in ("and", "&&"):
            self.take()
            right = self.negation()
            value = _truth(value) and _truth(right)
        return value

    def negation(self) -> Any:
        if self.peek() in ("not", "!"):
            self.take()
            return not _truth(self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.primary()
        operator = self.peek()
        if operator == "not" and self.pos + 1 < len(self.tokens) and self.tokens[self.pos + 1][1] == "in":
            self.take()
            self.take()
            return left not in self.listing()
        if operator == "in":
            self.take()
            return left in self.listing()
        if operator not in ("==", "!=", "<", "<=", ">", ">="):
            return left
        self.take()
        right = self.primary()
        if operator == "==":
            return type(left) is type(right) and left == right  # expr never converts
        if operator == "!=":
            return not (type(left) is type(right) and left == right)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if not numbers and not all(isinstance(v, str) for v in (left, right)):
            raise ExpressionError(f"invalid operation: {_go_value(left)} {operator} {_go_value(right)}")
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]

    def listing(self) -> list[Any]:
        self.take("[")
        items: list[Any] = []
        while self.peek() != "]":
            items.append(self.primary())
            if self.peek() == ",":
                self.take()
        self.take("]")
        return items

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.disjunction()
            self.take(")")
            return value
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].encode().decode("unicode_escape")
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if self.peek() == "(":
                function = _RETRY_FUNCTIONS.get(text)
                if function is None:
                    raise ExpressionError(f"function {text} is not supported by bridge run")
                self.take("(")
                argument = self.disjunction()
                self.take(")")
                try:
                    return function(argument)
                except ValueError as error:
                    raise ExpressionError(f"{text}({_go_value(argument)}): {error}") from None
            if text not in self.scope:
                raise ExpressionError(f"unknown name {text}")
            return self.scope[text]
        raise ExpressionError(f"unexpected {text!r}")


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"expected bool, got {_go_value(value)}")
    return value


def evaluate_expression(expression: str, scope: Mapping[str, str]) -> Any:
    """An expr-lang expression over flat variables (scope.go resolveParameter: a DAG template's
    output `valueFrom.expression`), within the subset bridge run reads (_RetryParser)."""
    try:
        return _RetryParser(_retry_tokens(expression), scope).parse()
    except ExpressionError as error:
        raise ExpressionError(f"expression {expression!r}: {error}") from None


def evaluate_retry_expression(expression: str, scope: Mapping[str, str]) -> bool:
    """processNodeRetries' argoexpr.EvalBool(retryStrategy.expression, scope): True = retry."""
    try:
        result = _RetryParser(_retry_tokens(expression), scope).parse()
    except ExpressionError as error:
        raise ExpressionError(f"retryStrategy.expression {expression!r}: {error}") from None
    if not isinstance(result, bool):
        raise ExpressionError(f"retryStrategy.expression {expression!r}: expected bool, got {_go_value(result)}")
    return result
