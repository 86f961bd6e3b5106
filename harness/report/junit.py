"""``junit.xml``: one test case per scenario run, for CI test tabs.

A failed check is a ``<failure>`` whose message names the checks and whose text holds
their evidence; a harness error is an ``<error>``. The fault timeline goes to
``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def write_junit(journal: dict[str, Any], report: Path) -> Path:
    scenarios = journal["scenarios"]
    suite = ET.Element(
        "testsuite",
        name="dapr-chaos",
        tests=str(len(scenarios)),
        failures=str(sum(journal["summary"].get(k, 0) for k in ("failed", "unknown", "vacuous"))),
        errors=str(journal["summary"]["errors"]),
        skipped="0",
        time=f"{journal['duration_s']:.3f}",
        timestamp=journal["started"],
    )
    props = ET.SubElement(suite, "properties")
    for key, value in journal["versions"].items():
        ET.SubElement(props, "property", name=f"version.{key}", value=str(value))
    for sc in scenarios:
        stem = Path(sc["file"]).name.removesuffix(".yaml") if sc["file"] else "scenario"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"dapr-chaos.{stem}",
            name=sc["label"],
            time=f"{sc['duration_s']:.3f}",
        )
        failed = [c for c in sc["checks"] if c["verdict"] not in ("pass", "known-upstream")]
        case_props = ET.SubElement(case, "properties")
        ET.SubElement(case_props, "property", name="dapr-chaos.verdict", value=sc["verdict"])
        for c in sc["checks"]:
            ET.SubElement(
                case_props, "property", name=f"dapr-chaos.check.{c['name']}", value=c["verdict"]
            )
        if sc["verdict"] == "error":
            node = ET.SubElement(case, "error", message=(sc["error"] or "error").splitlines()[0])
            node.text = sc["error"]
        elif sc["verdict"] in ("fail", "unknown", "vacuous") and failed:
            node = ET.SubElement(
                case,
                "failure",
                message="; ".join(f"{c['name']} {c['verdict']}: {c['summary']}" for c in failed),
            )
            node.text = "\n\n".join(
                "\n".join(
                    [f"{c['name']}: {c['verdict'].upper()}: {c['summary']}"]
                    + [f"  - {line}" for line in c["evidence"]]
                )
                for c in failed
            )
        elif sc["verdict"] == "vacuous":
            ET.SubElement(case, "failure", message="vacuous: no check had anything to judge")
        out = ET.SubElement(case, "system-out")
        lines = [f"seed {sc['seed']}, instance ids {sc['instance_prefix']}*"]
        lines += [
            f"known upstream defect ({c['name']}): {c['summary']}"
            for c in sc["checks"]
            if c["verdict"] == "known-upstream"
        ]
        lines += [
            f"{w['start_s']:8.2f}s  {w['kind']} {w['target']} {w['detail']} until "
            + (f"{w['end_s']:.2f}s" if w["end_s"] is not None else "the end")
            for w in sc["timeline"]["windows"]
        ]
        out.text = "\n".join(lines)
    path = report / "junit.xml"
    root = ET.Element("testsuites", name="dapr-chaos")
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path
