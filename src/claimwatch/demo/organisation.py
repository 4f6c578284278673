"""The demo insurers: their branches, sub-branches and staff. Shared by the generator and `demo setup`."""

from __future__ import annotations

from dataclasses import dataclass

from claimwatch.auth.models import Role

DEMO_PASSWORD = "claimwatch-demo"
ADJUSTERS_PER_TENANT = 8


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    region_code: str
    weight: float  # share of the tenant's claims
    sub_branches: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DemoTenant:
    code: str
    name: str
    share: float  # share of all demo claims
    branches: tuple[Branch, ...]

    def adjusters(self) -> list[str]:
        return [f"{self.code.lower()}.adjuster{n:02d}" for n in range(1, ADJUSTERS_PER_TENANT + 1)]

    def staff(self) -> list[tuple[str, Role, str]]:
        """(username, role, display name) for every staff role of the tenant."""
        prefix = self.code.lower()
        people = [
            (f"{prefix}.admin", Role.ADMIN, "系统管理员"),
            (f"{prefix}.supervisor", Role.SUPERVISOR, "理赔主管"),
            (f"{prefix}.qm", Role.QUALITY_MANAGER, "品质经理"),
            (f"{prefix}.inspector", Role.INSPECTOR, "品质专员"),
            (f"{prefix}.inspector2", Role.INSPECTOR, "品质专员（复核）"),  # a second pair of eyes: reviews (复核)
            (f"{prefix}.cs", Role.COMPLAINT_HANDLER, "投诉专员"),
        ]
        people += [(name, Role.ADJUSTER, f"理赔员{name[-2:]}") for name in self.adjusters()]
        return people


REGULATOR_USERNAME = "regulator"

DEMO_TENANTS: tuple[DemoTenant, ...] = (
    DemoTenant(
        "PICC",
        "人保财险",
        0.42,
        (
            Branch(
                "PICC-GD", "广东分公司", "440000", 0.30, (("PICC-GD-SZ", "深圳支公司"), ("PICC-GD-FS", "佛山支公司"))
            ),
            Branch("PICC-JS", "江苏分公司", "320000", 0.25, (("PICC-JS-SZ", "苏州支公司"),)),
            Branch("PICC-SC", "四川分公司", "510000", 0.20, ()),
            Branch("PICC-HA", "河南分公司", "410000", 0.15, ()),
            Branch("PICC-BJ", "北京分公司", "110000", 0.10, ()),
        ),
    ),
    DemoTenant(
        "PAIC",
        "平安产险",
        0.35,
        (
            Branch("PAIC-ZJ", "浙江分公司", "330000", 0.35, (("PAIC-ZJ-NB", "宁波支公司"),)),
            Branch("PAIC-SH", "上海分公司", "310000", 0.30, ()),
            Branch("PAIC-SD", "山东分公司", "370000", 0.20, (("PAIC-SD-QD", "青岛支公司"),)),
            Branch("PAIC-HB", "湖北分公司", "420000", 0.15, ()),
        ),
    ),
    DemoTenant(
        "CPIC",
        "太平洋产险",
        0.23,
        (
            Branch("CPIC-FJ", "福建分公司", "350000", 0.40, (("CPIC-FJ-XM", "厦门支公司"),)),
            Branch("CPIC-HN", "湖南分公司", "430000", 0.35, ()),
            Branch("CPIC-SN", "陕西分公司", "610000", 0.25, ()),
        ),
    ),
)
