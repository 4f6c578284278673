"""Quality report: satisfaction surveys (回访) — the response rate, the mean score of each dimension against its
target, and the org units with the lowest satisfaction (with enough answers to mean something). The figures
are the catalogue's survey KPIs."""

from __future__ import annotations

from claimwatch.reports import charts
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "surveys"
TITLE = N_("Satisfaction surveys")
MSG_CHART = N_("Satisfaction by org unit")
MSG_TARGET = N_("Target")
RESPONSE = "survey_response_rate"
DIMENSIONS = ("satisfaction", "timeliness_score", "transparency_score", "attitude_score")
SATISFACTION = "satisfaction"
MIN_ANSWERS = 10  # a unit with fewer answers is not ranked: a handful of scores is noise
LOWEST = 5


def build(ctx: ReportContext) -> Section | None:
    locale = ctx.locale
    kpis = common.available((RESPONSE, *DIMENSIONS))
    rows = {kpi.code: common.kpi_row(ctx, kpi) for kpi in kpis}
    if not any(row["value"] is not None for row in rows.values()):
        return None  # no survey sent or answered in the period: no data
    catalogue = common.catalogue()
    units = []
    chart = None
    if SATISFACTION in rows:
        kpi = catalogue[SATISFACTION]
        by_org = common.by_dimension(ctx, "org", [SATISFACTION])
        ranked = sorted(
            (
                (found[SATISFACTION].value, common.unit_label(ctx, "org", key), found[SATISFACTION].denominator or 0)
                for key, found in by_org.items()
                if SATISFACTION in found and found[SATISFACTION].value is not None
            ),
            key=lambda item: (item[0], item[1]),
        )
        enough = [item for item in ranked if item[2] >= MIN_ANSWERS]
        for score, label, answers in enough[:LOWEST]:
            light = common.light_of(kpi, score)
            units.append(
                {
                    "label": label,
                    "score": common.fmt(kpi, score, locale),
                    "answers": common.count(answers),
                    "light": light,
                    "light_label": common.light_label(locale, light, score),
                }
            )
        if enough:
            shown = enough[: max(LOWEST, min(len(enough), 15))]
            chart = charts.bar_chart(
                [label for _, label, _ in shown],
                [score for score, _, _ in shown],
                unit=kpi.unit,
                reference=kpi.target,
                reference_label=translate(locale, MSG_TARGET),
                highlight=[i for i, (score, _, _) in enumerate(shown) if common.light_of(kpi, score) == "misses"],
                title=translate(locale, MSG_CHART),
            )
    response = rows.get(RESPONSE)
    data = {
        "response": response,
        "dimensions": [rows[code] for code in DIMENSIONS if code in rows],
        "units": units,
        "min_answers": MIN_ANSWERS,
        "ranked_units": len(units),
    }
    return Section(KEY, translate(locale, TITLE), f"{KEY}.html", data, {"units": chart} if chart else {})


register("quality", 50, build)
