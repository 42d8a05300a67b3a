"""Reading the product CSVs Brazilian users export: encodings, separators, headers, formats."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from kit.errors import InvalidArgument, ResourceExhausted
from tenant import catalog_domain as cd

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000

# Folded header → field. Spaces, "_" and "-" are ignored when comparing.
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("codigo", "code", "cod", "ref", "referencia", "reference", "sku", "id"),
    "title": ("titulo", "title", "nome", "name", "imovel"),
    "type": ("tipo", "type", "tipodeimovel", "tipoimovel", "propertytype", "categoria"),
    "purpose": ("finalidade", "purpose", "negocio", "operacao", "transacao", "transaction"),
    "price_cents": ("preco", "valor", "price", "value", "valorvenda", "valoraluguel", "precors"),
    "condo_fee_cents": ("condominio", "condo", "condofee", "valorcondominio", "taxacondominio"),
    "area_m2": ("area", "aream2", "areautil", "areaprivativa", "metragem", "m2", "size"),
    "bedrooms": ("quartos", "dormitorios", "dorms", "bedrooms", "beds", "qtdquartos"),
    "suites": ("suites", "suite"),
    "parking_spots": ("vagas", "vaga", "garagem", "vagasgaragem", "parking", "parkingspots"),
    "neighbourhood": ("bairro", "neighbourhood", "neighborhood", "district", "regiao"),
    "city": ("cidade", "city", "municipio"),
    "description": ("descricao", "description", "detalhes", "observacoes", "obs"),
    "photo_urls": ("fotos", "foto", "photos", "photourls", "imagens", "images", "urlfotos"),
    "listing_url": ("link", "url", "listingurl", "anuncio", "linkanuncio", "site"),
    "status": ("status", "situacao", "disponibilidade", "state"),
    "trigger_keywords": ("palavraschave", "palavrachave", "keywords", "triggers", "gatilhos", "tags"),
}
ALIASES = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
REQUIRED = ("code", "title")

PARSERS: dict[str, Callable[[str], object]] = {
    "price_cents": cd.parse_money,
    "condo_fee_cents": cd.parse_money,
    "area_m2": cd.parse_decimal,
    "bedrooms": cd.parse_int,
    "suites": cd.parse_int,
    "parking_spots": cd.parse_int,
    "purpose": cd.parse_purpose,
    "status": cd.parse_status,
    "photo_urls": cd.split_urls,
    "trigger_keywords": cd.split_list,
}


@dataclass
class ParsedRow:
    line: int
    code: str
    product: cd.ProductData | None
    problems: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    encoding: str
    delimiter: str
    columns: list[str]  # the ProductData fields present in the file
    rows: list[ParsedRow]


def decode(content: bytes) -> tuple[str, str]:
    if b"\x00" in content[:4096]:
        raise InvalidArgument("file: not a CSV text file (binary content)")
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin-1"


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise InvalidArgument("file: header has a single column; separate columns with ';' or ','")
    return best


def map_header(cells: list[str]) -> list[str | None]:
    mapped: list[str | None] = []
    for cell in cells:
        key = "".join(cd.words(cell.replace("²", "2")))
        mapped.append(ALIASES.get(key))
    present = [m for m in mapped if m]
    duplicated = sorted({m for m in present if present.count(m) > 1})
    if duplicated:
        raise InvalidArgument(f"file: header names {', '.join(duplicated)} more than once")
    missing = [r for r in REQUIRED if r not in present]
    if missing:
        names = {"code": "código/code", "title": "título/title"}
        raise InvalidArgument(f"file: header is missing the column(s) {', '.join(names[m] for m in missing)}")
    return mapped


def parse_row(line: int, cells: list[str], mapping: list[str | None]) -> ParsedRow:
    values: dict[str, object] = {}
    problems: list[str] = []
    for name, cell in zip(mapping, cells, strict=False):
        if name is None:
            continue
        raw = cell.strip()
        try:
            values[name] = PARSERS[name](raw) if name in PARSERS else raw
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if len(cells) > len(mapping) and any(c.strip() for c in cells[len(mapping) :]):
        problems.append(f"row has {len(cells)} columns, the header {len(mapping)}")
    code = str(values.get("code", ""))
    if "status" in values and not values["status"]:
        values["status"] = "available"
    product = cd.ProductData(**values)  # type: ignore[arg-type]
    problems.extend(product.problems())
    return ParsedRow(line, code, None if problems else product, problems)


def parse(content: bytes) -> ParsedFile:
    if len(content) > MAX_BYTES:
        raise ResourceExhausted(f"file: {len(content)} bytes is over the {MAX_BYTES // 1048576} MiB limit")
    text, encoding = decode(content)
    if not text.strip():
        raise InvalidArgument("file: is empty")
    delimiter = sniff_delimiter(text.lstrip("\r\n").split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter)
    try:
        mapping = map_header(next(reader))
        rows = [
            parse_row(reader.line_num, cells, mapping) for cells in reader if any(c.strip() for c in cells)
        ]
    except csv.Error as exc:
        raise InvalidArgument(f"file: line {reader.line_num} is not valid CSV ({exc})") from None
    if len(rows) > MAX_ROWS:
        raise ResourceExhausted(f"file: {len(rows)} rows is over the {MAX_ROWS} rows limit")
    return ParsedFile(encoding, delimiter, [m for m in mapping if m], rows)
