"""Direct identifiers in clear: phone numbers, ID numbers and names (values are never shown)."""

from __future__ import annotations

from . import rule


@rule(id="RC302", name="direct-identifiers", title="Columns holding phone numbers, ID numbers or names in clear",
      kinds=("trajectory", "tabular", "travel", "aggregate", "places"), attack="direct-identifiers",
      metric="columns", threshold=0, adversary="reads the export")
def direct_identifiers(ctx, table, rule):
    """A column is flagged by its name (msisdn, cnic, name, …) or by its content (more than half of a
    sample of 2,000 values are phone numbers or CNICs). The values are never shown."""
    from ..schema import CNIC, ID_COLS, NAME_COLS, PHONE

    flagged = []
    for c in table.columns:
        if c.lower() in NAME_COLS or c.lower() in ID_COLS:
            flagged.append(f"{c} (by name)")
            continue
        qc = ctx.engine.quote(c)
        vals = ctx.engine.query(f"SELECT CAST({qc} AS STRING) AS v FROM tbl WHERE {qc} IS NOT NULL LIMIT 2000")["v"]
        vals = vals.astype(str).str.strip()
        if len(vals) and (vals.str.match(PHONE).mean() > 0.5 or vals.str.match(CNIC).mean() > 0.5):
            flagged.append(f"{c} (by content)")
    ctx.add(rule, table, metric="columns", value=len(flagged), interval=None, params={"columns": flagged},
            message=(f"{len(flagged)} column(s) hold direct identifiers in clear: {', '.join(flagged)}"
                     if flagged else "No column holds phone numbers, ID numbers or names in clear"))
