"""Keyword trends: jieba with our insurance dictionary, stopwords, privacy, and exact counts per month."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import keywords, pages, schemas
from claimwatch.complaints import terms as complaint_terms
from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.tenancy.service import platform_zone
from tests.complaints_web.conftest import (
    CLEAR_ID_NUMBER,
    CLEAR_PHONE,
    Office,
    build_office,
    file_complaint,
    local,
    principal_of,
)
from tests.factories import World
from tests.snapshots import Snapshot

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

DIGIT = re.compile(r"\d")


def test_domain_terms_stay_whole_and_noise_is_dropped():
    terms = complaint_terms.terms_of("我的理赔款到现在还没到账，定损员说定损金额就是这么多了！4S店也不管。")
    assert "理赔款" in terms and "定损员" in terms and "定损" in terms and "4S店" in terms
    # Stopwords, punctuation and one-character tokens are gone.
    for noise in ("我", "的", "了", "还", "就是", "这么", "，", "！", "。", "说"):
        assert noise not in terms
    assert all(len(term) >= 2 for term in terms)
    # The user dictionary matters: plain jieba splits 免赔额 and keeps 的.
    assert "免赔额" in complaint_terms.terms_of("免赔额的约定不合理")


def test_phone_id_numbers_emails_names_and_numbers_never_become_keywords():
    text = (
        f"投诉人欧阳娜娜，电话{CLEAR_PHONE}，身份证{CLEAR_ID_NUMBER}，邮箱ouyang.nana@example.com，"
        "保单号P2026110001，固话020-87654321，金额5000元，理赔款被扣了30%。"
    )
    terms = complaint_terms.terms_of(text, hide=["欧阳娜娜"])
    assert "理赔款" in terms
    assert not any(DIGIT.search(term) for term in terms), terms
    assert not any(part in term for term in terms for part in ("ouyang", "nana", "example", "欧阳", "娜娜"))


def test_segmenter_is_built_once():
    assert complaint_terms.segmenter() is complaint_terms.segmenter()


def test_tokenizers_copy_the_shared_dictionary_and_tag_like_jieba_built_from_scratch(tmp_path):  # type: ignore[no-untyped-def]
    import jieba
    import jieba.posseg

    extra = tmp_path / "extra.txt"
    extra.write_text("时效考核办 5 n\n", encoding="utf-8")
    with_extra = complaint_terms.tokenizer(complaint_terms.USER_DICTIONARY, extra)
    plain = complaint_terms.tokenizer(complaint_terms.USER_DICTIONARY)
    text = "时效考核办说理赔款一直没到账，张伟觉得定损员不专业，4S店也不管"
    # One tokenizer's user words stay its own: the default dictionary is copied, not shared.
    assert "时效考核办" in with_extra.lcut(text) and "时效考核办" not in plain.lcut(text)
    # The same words and tags as jieba's own construction (its dictionary and word tags read again).
    scratch = jieba.Tokenizer()
    scratch.load_userdict(str(complaint_terms.USER_DICTIONARY))
    expected = [(pair.word, pair.flag) for pair in jieba.posseg.POSTokenizer(scratch).lcut(text)]
    assert [(pair.word, pair.flag) for pair in complaint_terms.pos_tagger(plain).lcut(text)] == expected
    assert ("张伟", "nr") in expected and ("理赔款", "n") in expected  # a name and one of our words, tagged


def test_months():
    assert keywords.Month.parse("2026-01", "period_from").previous().label == "2025-12"
    assert keywords.Month.parse("2026-12", "period_to").next().label == "2027-01"
    assert [m.label for m in keywords.months(keywords.Month(2026, 11), keywords.Month(2027, 2))] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    with pytest.raises(keywords.KeywordError) as refused:
        keywords.Month.parse("2026-13", "period_from")
    assert refused.value.field == "period_from" and refused.value.status == 422


def test_chart_data_cannot_close_the_script_block():
    data = {"series": {"periods": ["2026-10"], "terms": [{"term": "</script><b>&", "complaints": [1]}]}}
    text = pages.chart_json(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\\u003c/script\\u003e" in text


@pytest.fixture
def texts(world: World, db_snapshot: Snapshot) -> Office:
    return db_snapshot("complaints_web.keywords_texts", lambda: build_texts(build_office(world)))


def build_texts(office: Office) -> Office:
    """The office, and: September: two complaints; October: five (four about claims, one about sales); BBB: one
    in October. Subjects are the stopword 投诉, so only the descriptions count."""
    sep, oct_ = local(2026, 9, 10, 10), local(2026, 10, 12, 10)
    gd, sh = "440000", "310000"
    for received_at, region, category, sub_cause, description in [
        (sep, gd, "claims", "delay", "理赔款迟迟未到账，理赔款到底什么时候支付？"),
        (sep, gd, "claims", "amount", "定损金额太低，态度恶劣。"),
        (oct_, gd, "claims", "delay", "理赔款一直没有到账。"),
        (oct_, gd, "claims", "delay", "理赔款拖延半个月。"),
        (oct_, sh, "claims", "amount", "定损不公平。"),
        (oct_, sh, "claims", "amount", f"理赔款被扣，免赔额不合理，请回电{CLEAR_PHONE}。"),
        (oct_, gd, "sales", "misleading", "销售误导，免赔额没有说明。"),
    ]:
        file_complaint(
            office.handler,
            received_at=received_at,
            region_code=region,
            category=category,
            sub_cause=sub_cause,
            subject="投诉",
            description=description,
            complainant={"name": "欧阳娜娜", "phone": "13900001111"},
        )
    file_complaint(office.bbb_handler, received_at=oct_, subject="投诉", description="退保金额太少，退保拖延。")
    return office


def _trends(username: str, **arguments):  # type: ignore[no-untyped-def]
    principal = principal_of(username)
    context = principal.context()
    with unit_of_work(context) as session:
        return keywords.keyword_trends(
            session, principal, **({"period_from": "2026-09", "period_to": "2026-10"} | arguments)
        )


def _terms(period: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["term"]: row for row in period["terms"]}


def test_counts_shares_and_change_against_the_month_before_are_exact(texts: Office):
    result = _trends(texts.handler)
    september, october = result["periods"]
    assert (september["period"], september["complaints"], september["previous_complaints"]) == ("2026-09", 2, 0)
    assert (october["period"], october["complaints"], october["previous_complaints"]) == ("2026-10", 5, 2)

    sep = _terms(september)
    assert (sep["理赔款"]["complaints"], sep["理赔款"]["occurrences"], sep["理赔款"]["share"]) == (1, 2, 0.5)
    assert sep["理赔款"]["trend"] == "new" and sep["定损"]["trend"] == "new"

    oct_ = _terms(october)
    assert {k: oct_["理赔款"][k] for k in ("complaints", "occurrences", "share", "previous_complaints")} == {
        "complaints": 3,
        "occurrences": 3,
        "share": 0.6,
        "previous_complaints": 1,
    }
    assert (oct_["理赔款"]["change"], oct_["理赔款"]["share_change"], oct_["理赔款"]["trend"]) == (2, 0.1, "rising")
    assert (oct_["免赔额"]["complaints"], oct_["免赔额"]["share"], oct_["免赔额"]["trend"]) == (2, 0.4, "new")
    assert (oct_["定损"]["change"], oct_["定损"]["share_change"], oct_["定损"]["trend"]) == (0, -0.3, "falling")
    # Rising first, the largest rise in share first; then the rest by how many complaints mention them.
    # 免赔额 +40 points, the terms new this month +20, 理赔款 +10; 定损 fell and comes last.
    order = [row["term"] for row in october["terms"]]
    changes = [row["share_change"] for row in october["terms"]]
    assert order[0] == "免赔额" and order[-1] == "定损"
    assert order.index("理赔款") == len(order) - 2
    assert changes[:-1] == sorted(changes[:-1], reverse=True) and all(change > 0 for change in changes[:-1])
    # Nobody's phone, and not the complainant's name; BBB's complaint is not ACME's business.
    every = [row["term"] for period in result["periods"] for row in period["terms"]]
    assert not any(DIGIT.search(term) for term in every)
    assert not any("欧阳" in term or "娜娜" in term for term in every)
    assert "退保" not in every
    # The chart: October's leading terms, month by month.
    series = {s["term"]: s["complaints"] for s in result["series"]["terms"]}
    assert result["series"]["periods"] == ["2026-09", "2026-10"] and series["理赔款"] == [1, 3]


def test_root_causes_are_a_pareto_of_the_last_month_with_categories_by_month(texts: Office):
    causes = _trends(texts.handler)["causes"]
    assert (causes["period"], causes["complaints"]) == ("2026-10", 5)
    rows = [
        (c["category"], c["sub_cause"], c["complaints"], c["share"], c["cumulative_share"], c["change"])
        for c in causes["sub_causes"]
    ]
    # October: two delays, two amount disputes, one mis-selling; September had one delay and one amount.
    assert rows == [
        ("claims", "amount", 2, 0.4, 0.4, 1),
        ("claims", "delay", 2, 0.4, 0.8, 1),
        ("sales", "misleading", 1, 0.2, 1.0, 1),
    ]
    first, last = causes["sub_causes"][0], causes["sub_causes"][2]
    assert first["category_label"] == "理赔" and last["sub_cause_label"] == "销售误导"
    assert [(c["category"], c["complaints"]) for c in causes["by_category"]] == [("claims", [2, 4]), ("sales", [0, 1])]


def test_region_and_category_filters_and_the_region_breakdown(texts: Office):
    shanghai = _trends(texts.handler, period_from="2026-10", region="310000")
    october = shanghai["periods"][0]
    assert october["complaints"] == 2 and october["previous_complaints"] == 0
    assert _terms(october)["理赔款"]["share"] == 0.5 and "销售误导" not in _terms(october)
    assert shanghai["regions"] == []  # one region chosen: no breakdown

    claims = _trends(texts.handler, category="claims")
    assert [p["complaints"] for p in claims["periods"]] == [2, 4]
    assert _terms(claims["periods"][1])["理赔款"]["share"] == 0.75

    everywhere = _trends(texts.handler)
    assert [(r["region"], r["complaints"]) for r in everywhere["regions"]] == [("440000", 3), ("310000", 2)]
    guangdong = everywhere["regions"][0]["terms"]
    assert guangdong[0] == {"term": "理赔款", "complaints": 2}


def test_regulator_reads_every_insurer_or_one(texts: Office):
    every = _trends(texts.regulator, period_from="2026-10")
    assert every["periods"][0]["complaints"] == 6 and "退保" in _terms(every["periods"][0])
    bbb = _trends(texts.regulator, period_from="2026-10", tenant="BBB")
    assert bbb["periods"][0]["complaints"] == 1 and bbb["tenant"] == "BBB"
    with pytest.raises(keywords.KeywordError) as unknown:
        _trends(texts.regulator, tenant="NOPE")
    assert unknown.value.field == "tenant"
    # A tenant user's "tenant" is ignored: they see their own complaints only.
    assert _trends(texts.handler, period_from="2026-10", tenant="BBB")["periods"][0]["complaints"] == 5


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"period_from": "2026/09"}, "period_from"),
        ({"period_from": "2026-10", "period_to": "2026-09"}, "period_to"),
        ({"period_from": "2024-01", "period_to": "2026-10"}, "period_to"),
        ({"top": 0}, "top"),
        ({"region": "999999"}, "region"),
        ({"category": "nonsense"}, "category"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(office: Office, arguments, field):  # type: ignore[no-untyped-def]
    with pytest.raises(keywords.KeywordError) as refused:
        _trends(office.handler, **arguments)
    assert refused.value.status == 422 and refused.value.field == field


def test_keyword_page_and_json(texts: Office, signed_in):
    client = signed_in(texts.adjuster)  # any staff member may read trends
    page = client.get("/complaints/keywords?from=2026-09&to=2026-10")
    assert page.status_code == 200
    assert 'id="period-2026-10"' in page.text and 'data-term="理赔款" data-trend="rising"' in page.text
    assert 'id="keyword-chart"' in page.text and 'id="keyword-data"' in page.text
    assert 'id="root-causes"' in page.text and 'data-category="claims" data-sub-cause="amount"' in page.text
    assert CLEAR_PHONE not in page.text
    refused = client.get("/complaints/keywords?from=2026-10&to=2026-01")
    assert refused.status_code == 422 and 'id="err-period_to"' in refused.text

    api = client.get("/api/v1/complaints/keywords", params={"period_from": "2026-10", "period_to": "2026-10"})
    assert api.status_code == 200
    body = api.json()
    assert body["periods"][0]["complaints"] == 5 and body["periods"][0]["previous_complaints"] == 2
    bad = client.get("/api/v1/complaints/keywords", params={"period_from": "October"})
    assert bad.status_code == 422 and bad.json()["problems"] == [
        {"field": "period_from", "message": "period_from must be a month as YYYY-MM, got 'October'"}
    ]
    assert client.get("/api/v1/complaints/keywords", params={"top": "many"}).status_code == 422


def test_keyword_json_for_a_regulator_and_refused_to_a_visitor(texts: Office, client, signed_in):  # type: ignore[no-untyped-def]
    anonymous = client.get("/api/v1/complaints/keywords")
    assert anonymous.status_code == 401
    regulator = signed_in(texts.regulator)
    body = regulator.get(
        "/api/v1/complaints/keywords", params={"period_from": "2026-10", "period_to": "2026-10", "tenant": "BBB"}
    ).json()
    assert body["periods"][0]["complaints"] == 1


def test_terms_are_stored_at_intake_and_the_trends_count_them(database, world):  # type: ignore[no-untyped-def]
    """Intake keeps the complaint's terms (no personal data); the trends read them instead of the text."""
    tenant = world.tenant("ACME")
    desk = Principal(role=Role.COMPLAINT_HANDLER, tenant_id=tenant.id, actor="user:desk")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        complaint = complaints_intake.create_complaint(
            session,
            desk,
            schemas.ComplaintIn(
                channel="hotline",
                complainant=schemas.ComplainantIn(name="欧阳娜娜", phone="13812345678"),
                category="claims",
                subject="定损金额过低",
                description="欧阳娜娜来电：定损员给的定损金额太低，电话13812345678",
            ),
        )
        number, received = complaint.number, complaint.received_at
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        stored = session.execute(select(Complaint.keywords).where(Complaint.number == number)).scalar_one()
        assert "定损" in stored.split() and "定损员" in stored.split()
        assert "13812345678" not in stored and "欧阳娜娜" not in stored
        # What is counted is what was stored: change it and the trend follows.
        session.execute(update(Complaint).where(Complaint.number == number).values(keywords="暗号 暗号"))
    month = keywords.Month.of(received, platform_zone()).label
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        trends = keywords.keyword_trends(session, desk, period_from=month, period_to=month)
    assert [row["term"] for row in trends["periods"][-1]["terms"]] == ["暗号"]
    assert trends["periods"][-1]["terms"][0]["occurrences"] == 2
