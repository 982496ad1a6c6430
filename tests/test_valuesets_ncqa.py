"""Licensed NCQA value-set files dropped beside the shipped value sets (no Spark)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from p4e.config.codes import CodeSystems, parse_codes
from p4e.config.fields import Field
from p4e.config.valuesets import NCQA_MAPPING, load_valuesets
from p4e.errors import ConfigError

CONF = Path(__file__).resolve().parents[1] / "conf"
VSD_HEADER = [
    "Value Set Name",
    "Value Set OID",
    "Value Set Version",
    "Code",
    "Definition",
    "Code System",
    "Code System OID",
    "Code System Version",
]
# (NCQA value set name, code, code system): made-up codes, so the test shows where they land.
LICENSED = [
    ("Mammography", "77067", "CPT"),
    ("Mammography", "0403", "UBREV"),
    ("Hospice Encounter", "G9473", "HCPCS"),
    ("Hospice Intervention", "385763009", "SNOMED CT US Edition"),
    ("Systolic Less Than 130", "3074F", "CPT-CAT-II"),
    ("Essential Hypertension", "I10", "ICD10CM"),
    ("Bilateral Mastectomy", "0HTV0ZZ", "ICD10PCS"),
    ("Acute Inpatient", "0111", "UBTOB"),
    ("Kidney Transplant", "0TY00Z0", "ICD10PCS"),
    ("History of Kidney Transplant", "Z94.0", "ICD10CM"),
    ("Some Unmapped Value Set", "99999", "CVX"),
]


@pytest.fixture
def codes() -> CodeSystems:
    return parse_codes(Field.document(CONF / "p4e.yaml")["codes"])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The shipped value sets plus a small licensed file in NCQA's layout."""
    target = tmp_path / "valuesets"
    shutil.copytree(CONF / "valuesets", target)
    _write_vsd(target / "ncqa_vsd.csv", LICENSED)
    return target


def _write_vsd(
    path: Path, rows: list[tuple[str, str, str]], header: list[str] = VSD_HEADER
) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name, code, system in rows:
            writer.writerow(
                [name, "2.16.840.1.113883.3.464.1004.1", "2024-03-31", code, "x", system, "", ""]
            )


def _rows(folder: Path, codes: CodeSystems, name: str) -> set[tuple[str, str]]:
    return {(ns, code) for vs, ns, code in load_valuesets(folder, codes).rows if vs == name}


def test_mapped_rows_land_in_their_value_sets_with_namespaces(
    folder: Path, codes: CodeSystems
) -> None:
    assert _rows(folder, codes, "mammography") == {("PROCEDURE", "77067"), ("UBREV", "0403")}
    assert _rows(folder, codes, "hospice") == {("PROCEDURE", "G9473"), ("SNOMEDCT", "385763009")}
    assert _rows(folder, codes, "systolic_lt_130") == {("PROCEDURE", "3074F")}
    assert _rows(folder, codes, "acute_inpatient") == {("UBTOB", "0111")}
    assert _rows(folder, codes, "kidney_transplant") == {
        ("ICD10PCS", "0TY00Z0"),
        ("ICD10CM", "Z94.0"),
    }


def test_licensed_rows_replace_only_their_value_sets(folder: Path, codes: CodeSystems) -> None:
    shipped = load_valuesets(CONF / "valuesets", codes)
    licensed = load_valuesets(folder, codes)
    replaced = {"mammography", "hospice", "systolic_lt_130", "hypertension", "bilateral_mastectomy"}
    replaced |= {"acute_inpatient", "kidney_transplant"}
    assert ("bilateral_mastectomy", "ICD10CM", "Z90.13") in shipped.rows
    assert ("bilateral_mastectomy", "ICD10CM", "Z90.13") not in licensed.rows
    kept = {row for row in shipped.rows if row[0] not in replaced}
    assert kept == {row for row in licensed.rows if row[0] not in replaced}
    assert shipped.names == licensed.names


def test_unmapped_names_are_ignored(folder: Path, codes: CodeSystems) -> None:
    rows = load_valuesets(folder, codes).rows
    assert not [row for row in rows if row[2] == "99999"]


def test_names_and_header_compare_without_case(tmp_path: Path, codes: CodeSystems) -> None:
    folder = tmp_path / "vs"
    shutil.copytree(CONF / "valuesets", folder)
    header = [f" {h.upper()} " for h in VSD_HEADER] + ["Extra Column"]
    _write_vsd(folder / "ncqa.csv", [("MAMMOGRAPHY", "77063", "cpt")], header)
    assert _rows(folder, codes, "mammography") == {("PROCEDURE", "77063")}


def test_unknown_code_system_names_file_and_line(folder: Path, codes: CodeSystems) -> None:
    _write_vsd(folder / "ncqa_vsd.csv", [*LICENSED[:2], ("Mammography", "77063", "MYSTERY")])
    with pytest.raises(ConfigError, match=r"ncqa_vsd\.csv line 4: code_system 'MYSTERY'"):
        load_valuesets(folder, codes)


def test_missing_mapping_file(folder: Path, codes: CodeSystems) -> None:
    (folder / NCQA_MAPPING).unlink()
    with pytest.raises(
        ConfigError, match=r"ncqa_vsd\.csv is an NCQA value-set file.*ncqa_names\.yaml"
    ):
        load_valuesets(folder, codes)


def test_mapping_may_name_value_sets_the_file_lacks(folder: Path, codes: CodeSystems) -> None:
    (folder / NCQA_MAPPING).write_text(
        "Mammography: mammography\nNot In The File: [well_care, outpatient]\n"
    )
    assert _rows(folder, codes, "mammography") == {("PROCEDURE", "77067"), ("UBREV", "0403")}
    assert ("well_care", "ICD10CM", "Z00.00") in load_valuesets(folder, codes).rows


def test_shipped_mapping_targets_exist(codes: CodeSystems) -> None:
    names = load_valuesets(CONF / "valuesets", codes).names
    mapping = yaml.safe_load((CONF / "valuesets" / NCQA_MAPPING).read_text())
    targets = {
        t for value in mapping.values() for t in ([value] if isinstance(value, str) else value)
    }
    assert targets <= names, sorted(targets - names)
