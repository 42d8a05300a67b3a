"""Brazilian formats: money, numbers, words, headers, encodings and separators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kit.errors import InvalidArgument, ResourceExhausted
from tenant import catalog_domain as cd
from tenant import csv_import


class TestParseMoney:
    @pytest.mark.parametrize(
        ("text", "cents"),
        [
            ("R$ 850.000,00", 85_000_000),
            ("R$850.000", 85_000_000),
            ("850000", 85_000_000),
            ("850.000", 85_000_000),
            ("850,000.00", 85_000_000),
            ("1.250.000", 125_000_000),
            ("1,2 mi", 120_000_000),
            ("1,5 milhões", 150_000_000),
            ("1.2M", 120_000_000),
            ("850 mil", 85_000_000),
            ("850k", 85_000_000),
            ("R$ 3.500/mês", 350_000),
            ("2.500,50", 250_050),
            ("99,9", 9_990),
            ("  ", None),
            ("", None),
        ],
    )
    def test_formats(self, text, cents):
        assert cd.parse_money(text) == cents

    @pytest.mark.parametrize("text", ["consulte", "R$ abc", "1,2,3,4x", "-500"])
    def test_not_money(self, text):
        with pytest.raises(ValueError):
            cd.parse_money(text)


class TestNumbers:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("120,5", Decimal("120.5")),
            ("1.200,50", Decimal("1200.50")),
            ("85 m²", Decimal(85)),
            ("85m2", Decimal(85)),
            ("72.35", Decimal("72.35")),
            ("", None),
        ],
    )
    def test_decimal(self, text, value):
        assert cd.parse_decimal(text) == value

    @pytest.mark.parametrize(("text", "value"), [("3", 3), ("03", 3), ("3 quartos", 3), ("", None)])
    def test_int(self, text, value):
        assert cd.parse_int(text) == value

    def test_int_rejects_fractions(self):
        with pytest.raises(ValueError):
            cd.parse_int("2,5")


class TestWords:
    @pytest.mark.parametrize(
        ("text", "purpose"),
        [
            ("Venda", "sale"),
            ("VENDA", "sale"),
            ("aluguel", "rent"),
            ("Locação", "rent"),
            ("rent", "rent"),
            ("", ""),
        ],
    )
    def test_purpose(self, text, purpose):
        assert cd.parse_purpose(text) == purpose

    @pytest.mark.parametrize(
        ("text", "status"),
        [("Disponível", "available"), ("vendido", "sold"), ("Alugado", "rented"), ("", "available")],
    )
    def test_status(self, text, status):
        assert cd.parse_status(text) == status

    def test_unknown_purpose(self):
        with pytest.raises(ValueError, match="purpose"):
            cd.parse_purpose("permuta")

    def test_urls_and_keywords(self):
        assert cd.split_urls("https://a/1.jpg | https://a/2.jpg,https://a/3.jpg") == [
            "https://a/1.jpg",
            "https://a/2.jpg",
            "https://a/3.jpg",
        ]
        assert cd.split_list("cobertura, piscina; vista mar") == ["cobertura", "piscina", "vista mar"]


class TestParseFile:
    def test_latin1_semicolon_bom_decimal_comma(self):
        text = "Código;Título;Finalidade;Preço;Área;Dormitórios;Bairro\nAP-1;Apto ção;Venda;R$ 850.000,00;72,5;3;Água Verde\n"
        parsed = csv_import.parse(text.encode("cp1252"))
        assert (parsed.encoding, parsed.delimiter) == ("cp1252", ";")
        product = parsed.rows[0].product
        assert product is not None
        assert (product.title, product.price_cents, product.area_m2) == (
            "Apto ção",
            85_000_000,
            Decimal("72.5"),
        )
        assert product.neighbourhood == "Água Verde"

    def test_utf8_bom_and_commas(self):
        parsed = csv_import.parse('\ufeffcode,title,price\nA1,Casa,"1,2 mi"\n'.encode())
        assert (parsed.encoding, parsed.delimiter) == ("utf-8-sig", ",")
        assert parsed.rows[0].product is not None and parsed.rows[0].product.price_cents == 120_000_000

    def test_row_problems_name_line_and_field(self):
        parsed = csv_import.parse(b"codigo;titulo;preco\nA1;Casa;100\nA2;Casa;caro\n")
        assert parsed.rows[1].line == 3 and parsed.rows[1].product is None
        assert "price_cents" in parsed.rows[1].problems[0]

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"\x89PNG\r\n\x1a\n\x00\x00",
            b"just one column\nx\n",
            b"nome;preco\nA;1\n",
            b"codigo;codigo;titulo\n",
        ],
    )
    def test_broken_files_are_rejected_whole(self, content):
        with pytest.raises(InvalidArgument, match="file"):
            csv_import.parse(content)

    def test_over_the_size_limit(self):
        with pytest.raises(ResourceExhausted):
            csv_import.parse(b"x" * (csv_import.MAX_BYTES + 1))
