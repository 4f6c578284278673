"""CSV import of complaints (e.g. a regulator's 12378 transfer list): all or nothing, with a reject report.

Every row is checked before anything is written; if any row is bad, nothing is recorded and the report
names each problem by file line, column and what is wrong. Headers may be English field names or the
usual Chinese ones (投诉渠道, 投诉时间, 投诉人, 联系电话, …); channels, categories, sub-causes and major
reasons may be codes or their Chinese/English labels. A row whose ``external_ref`` was imported before is
counted as existing, not added again (re-importing the same list is harmless).

Times without a UTC offset are the insurer's local time (its ``tenants.timezone``); a date alone is its
local midnight.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake, schemas
from claimwatch.complaints.vocabulary import CHANNEL_LABELS, MAJOR_REASON_LABELS, ComplaintError, categories, label
from claimwatch.errors import Problem
from claimwatch.tenancy import service as tenancy_service

# field -> accepted headers (compared case-insensitively, spaces and underscores ignored)
HEADERS: dict[str, tuple[str, ...]] = {
    "channel": ("channel", "投诉渠道", "渠道", "来源渠道"),
    "received_at": ("received_at", "投诉时间", "收到时间", "接收时间", "登记时间"),
    "external_ref": ("external_ref", "外部编号", "转办编号", "转送编号", "工单号"),
    "regulator_received_at": ("regulator_received_at", "监管收到时间", "监管接收时间", "转办时间"),
    "claim_number": ("claim_number", "赔案号", "案件号", "报案号"),
    "org_code": ("org_code", "机构代码", "机构编码"),
    "region_code": ("region_code", "地区代码", "行政区划代码"),
    "line": ("line", "险种", "业务线"),
    "name": ("name", "complainant_name", "投诉人", "投诉人姓名", "姓名"),
    "phone": ("phone", "联系电话", "电话", "手机号"),
    "id_number": ("id_number", "证件号码", "身份证号", "身份证号码"),
    "email": ("email", "电子邮箱", "邮箱"),
    "address": ("address", "联系地址", "地址"),
    "category": ("category", "投诉类别", "投诉分类", "类别"),
    "sub_cause": ("sub_cause", "投诉原因", "子原因", "原因"),
    "provider_code": ("provider_code", "第三方机构代码", "机构编号", "合作机构代码"),
    "subject": ("subject", "投诉主题", "主题", "标题"),
    "description": ("description", "投诉内容", "投诉描述", "内容"),
    "major_reasons": ("major_reasons", "重大投诉原因", "重大投诉"),
}
REQUIRED = ("channel", "received_at", "category", "subject", "description")
MAX_IMPORT_BYTES = 20 * 1024 * 1024  # a regulator's transfer list is far smaller; refuse anything bigger
_COMPLAINANT = ("name", "phone", "id_number", "email", "address")
_SEPARATORS = re.compile(r"[,;，；、|]")
CHANNEL_ALIASES = {
    "电话": "hotline",
    "热线": "hotline",
    "400热线": "hotline",
    "95热线": "hotline",
    "微信公众号": "wechat",
    "邮件": "email",
    "信件": "letter",
    "来访": "walk_in",
    "现场": "walk_in",
    "柜面": "walk_in",
    "12378": "regulator_12378",
    "监管转办": "regulator_12378",
    "监管转送": "regulator_12378",
    "消协": "consumer_association",
    "消费者协会转办": "consumer_association",
}


def norm_header(text: str) -> str:
    """A header (or a code or label in a cell) as it is compared: case, spaces and underscores ignored, so that
    ``Claim Number``, ``claim_number`` and ``CLAIMNUMBER`` are one column. Every import matches its headers and
    its label aliases with this, so a file that one import reads, the others read the same way."""
    return re.sub(r"[\s_]", "", text).lower()


@dataclass(frozen=True)
class Reject:
    line: int
    column: str | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "field": self.field, "message": self.message}

    def as_problem(self) -> dict[str, Any]:
        """The reject as one of the error body's problems: the field named, with its file line and column."""
        return {"field": self.field or self.column or "file", "message": self.message} | {
            "line": self.line,
            "column": self.column,
        }


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    existing: int = 0
    dry_run: bool = False
    numbers: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "existing": self.existing,
            "dry_run": self.dry_run,
            "numbers": self.numbers,
            "rejects": [r.as_dict() for r in self.rejects],
        }


class ImportRejected(Problem):
    """Some rows are bad: nothing was imported (422). ``result.rejects`` is the report; the error body's
    ``problems`` name each (line, column, field, message)."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        super().__init__(
            422,
            "file",
            f"{len(result.rejects)} problems: nothing imported",
            problems=[reject.as_problem() for reject in result.rejects],
        )


def decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Excel in China saves)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                ImportResult(rejects=[Reject(1, None, None, "the file is neither UTF-8 nor GB18030 text")])
            ) from exc


def _labels(table: dict[str, str]) -> dict[str, str]:
    """A file may name a code by the code itself or by its Chinese or English label."""
    found = {}
    for code in table:
        for name in (code, label(table, code, "zh"), label(table, code, "en")):
            found[norm_header(name)] = code
    return found


def _channel(value: str) -> str:
    index = _labels(CHANNEL_LABELS) | {norm_header(k): v for k, v in CHANNEL_ALIASES.items()}
    return index.get(norm_header(value), value)


def _category(value: str) -> str:
    index: dict[str, str] = {}
    for code, category in categories().items():
        index |= {norm_header(code): code, norm_header(category.zh): code, norm_header(category.en): code}
    return index.get(norm_header(value), value)


def _sub_cause(category: str, value: str) -> str:
    found = categories().get(category)
    if found is None:
        return value
    index: dict[str, str] = {}
    for code, cause in found.sub_causes.items():
        index |= {norm_header(code): code, norm_header(cause.zh): code, norm_header(cause.en): code}
    return index.get(norm_header(value), value)


def _major(value: str) -> list[str]:
    index = _labels(MAJOR_REASON_LABELS)
    return [index.get(norm_header(part), part.strip()) for part in _SEPARATORS.split(value) if part.strip()]


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_time(value: str, zone: dt.tzinfo) -> dt.datetime:
    """A time as written in the file; without an offset, local time in ``zone`` (the insurer's)."""
    text = value.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in _FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt).replace(tzinfo=zone)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"{value!r} is not a date or time (e.g. 2026-11-20 14:30 or 2026-11-20T14:30+08:00)")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def read_table(
    text: str, headers: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]], list[Reject]]:
    """(field -> header as written, (file line, field -> non-empty cell) per row, header problems).

    The one header-row reader of every CSV import, so that they all refuse a file the same way: ``headers``
    maps each field to the headers accepted for it (compared with :func:`norm_header`; the second is the one
    named in messages, usually the Chinese); an unknown or repeated column, a missing ``required`` one and an
    empty file are problems of line 1, and a row with more cells than the header is a problem of its line (a
    value without a column would be dropped unseen). Blank rows are skipped; line numbers are the file's own, as
    the user's editor shows them (a quoted cell spanning lines counts each of its lines)."""
    index = {norm_header(alias): name for name, aliases in headers.items() for alias in aliases}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return {}, [], [Reject(1, None, None, "the file is empty: a header row is needed")]
    problems: list[Reject] = []
    columns: dict[int, str] = {}
    written: dict[str, str] = {}
    for position, raw in enumerate(header):
        if not raw.strip():
            continue
        name = index.get(norm_header(raw))
        if name is None:
            known = ", ".join(f"{n}/{a[1]}" for n, a in headers.items())
            problems.append(Reject(1, raw, None, f"unknown column {raw!r} (known: {known})"))
        elif name in written:
            problems.append(Reject(1, raw, name, f"column {raw!r} repeats {written[name]!r}"))
        else:
            columns[position], written[name] = name, raw
    problems += [Reject(1, None, n, f"missing column {n} ({headers[n][1]})") for n in required if n not in written]
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            if len(record) > len(header):
                problems.append(Reject(line, None, None, f"{len(record)} cells but the header has {len(header)}"))
            rows.append((line, {columns[i]: c.strip() for i, c in enumerate(record) if i in columns and c.strip()}))
        line = reader.line_num + 1
    return written, rows, problems


def validated(
    model: type[BaseModel],
    body: dict[str, Any],
    line: int,
    written: dict[str, str],
    rejects: list[Reject],
    *,
    renamed: Mapping[str, str] | None = None,
    innermost: bool = False,
    messages: Mapping[str, str] | None = None,
) -> Any:
    """``model`` validated from a row's ``body``, or None with each of pydantic's errors added to ``rejects`` on
    the row's ``line`` and the column the field was read from (``written``), so that an import reports every
    bad value of a row at once instead of stopping at the first.

    The field named is the outermost of the error's location (``levels.0.days`` -> ``levels``: the row's
    column), or with ``innermost`` the innermost (a body that nests the row's columns, ``applicant.name`` ->
    ``name``). ``renamed``: model field -> the file's field, where they differ (a licence's ``kind`` is read
    from ``licence_kind``). ``messages``: field -> the message reported in place of pydantic's, for a field
    whose error text could quote a value that must never be reported (an ID number)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            names = [str(part) for part in error["loc"] if isinstance(part, str)]
            name = (names[-1] if innermost else names[0]) if names else "file"
            message = (messages or {}).get(name, error["msg"])
            column = written.get((renamed or {}).get(name, name))
            rejects.append(Reject(line, column, name, message))
        return None


_DAY = re.compile(r"^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?$")


def parse_day(value: str) -> str:
    """A day as a spreadsheet in China writes it (2026-01-31, 2026/1/31, 2026.1.31, 2026年1月31日) as ISO
    ``2026-01-31``; anything else is returned as written, so that the schema refuses it with its own message
    naming the field (one reading of dates for every import, not one per file kind)."""
    match = _DAY.match(value.strip())
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else value


@dataclass
class _Row:
    line: int
    values: dict[str, str]  # field -> raw text (non-empty only)


def read_rows(text: str) -> tuple[dict[str, str], list[_Row], list[Reject]]:
    """(field -> header as written, rows, header problems) of a complaints file."""
    written, rows, problems = read_table(text, HEADERS, REQUIRED)
    return written, [_Row(line, values) for line, values in rows], problems


def _complaint_body(
    row: _Row, column: Callable[[str], str], rejects: list[Reject], zone: dt.tzinfo
) -> tuple[dict[str, Any], bool]:
    """The row as a ComplaintIn body, and whether a value could not be read (reported, left out so the rest
    of the row is still checked)."""
    values = row.values
    body: dict[str, Any] = {}
    bad = False
    for name, raw in values.items():
        if name in _COMPLAINANT:
            body.setdefault("complainant", {})[name] = raw
        elif name in ("received_at", "regulator_received_at"):
            try:
                body[name] = parse_time(raw, zone)
            except ValueError as exc:
                rejects.append(Reject(row.line, column(name), name, str(exc)))
                bad = True
        elif name == "channel":
            body[name] = _channel(raw)
        elif name == "category":
            body[name] = _category(raw)
        elif name == "major_reasons":
            body[name] = _major(raw)
        else:
            body[name] = raw
    if "sub_cause" in body and "category" in body:
        body["sub_cause"] = _sub_cause(body["category"], body["sub_cause"])
    return body, bad


def _field_to_column(field_name: str) -> str:
    """complainant.phone -> phone; the service's 'complainant' problem -> the name column."""
    if field_name.startswith("complainant."):
        return field_name.split(".", 1)[1]
    return "phone" if field_name == "complainant" else field_name


def check(session: Session, text: str, zone: dt.tzinfo) -> tuple[list[tuple[int, schemas.ComplaintIn]], ImportResult]:
    """Parse and validate every row (times without an offset in ``zone``); nothing is written."""
    written, rows, rejects = read_rows(text)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result

    def column(name: str) -> str:
        return written.get(name, name)

    valid: list[tuple[int, schemas.ComplaintIn]] = []
    seen_refs: dict[str, int] = {}
    for row in rows:
        body, unreadable = _complaint_body(row, column, result.rejects, zone)
        try:
            data = schemas.ComplaintIn.model_validate(body)
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
                target = _field_to_column(name)
                result.rejects.append(Reject(row.line, written.get(target), name, error["msg"]))
            continue
        problems = intake.problems_of(session, data)
        for name, message in problems:
            target = _field_to_column(name)
            result.rejects.append(Reject(row.line, written.get(target), name, message))
        if data.external_ref:
            first = seen_refs.setdefault(data.external_ref, row.line)
            if first != row.line:
                result.rejects.append(
                    Reject(
                        row.line,
                        written.get("external_ref"),
                        "external_ref",
                        f"external_ref {data.external_ref!r} repeats line {first}",
                    )
                )
                continue
        if not problems and not unreadable:
            valid.append((row.line, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def import_csv(
    session: Session,
    principal: Principal,
    content: bytes | str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import every row in the caller's transaction, or raise :class:`ImportRejected` with the report (the
    caller rolls back: nothing of the file is kept). ``progress(done, total)`` after each row."""
    text = decode(content) if isinstance(content, bytes) else content
    valid, result = check(session, text, tenancy_service.tenant_zone(session, principal.tenant_id))
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        return result
    for done, (line, data) in enumerate(valid, start=1):
        try:
            complaint, created = intake.intake(session, principal, data)
        except ComplaintError as exc:
            result.rejects.append(Reject(line, None, exc.field, exc.message))
            raise ImportRejected(result) from exc
        result.numbers.append(complaint.number)
        if created:
            result.created += 1
        else:
            result.existing += 1
        if progress is not None:
            progress(done, len(valid))
    return result


def count_rows(text: str) -> int:
    return len(read_rows(text)[1])


def write_reject_report(path: Path, rejects: list[Reject]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "field", "problem"])
        for reject in rejects:
            writer.writerow([reject.line, reject.column or "", reject.field or "", reject.message])
