"""Take-homes, the interviewer's side: bundle.py writes a bundle and checks what comes back against
its manifest, grading.py judges the returned folders, scan.py flags forbidden APIs and look-alike
submissions, report.py writes the report (its document is a versioned dataclass with as_json/from_json)."""
