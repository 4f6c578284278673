"""What demo complainants write, per category and sub-cause: enough variety for the keyword trends to find
real themes (拖延, 定损, 补交材料, 态度…), never a real person's words."""

from __future__ import annotations

# (category, sub_cause) -> [(subject, description)]; {line} is the line of business, {days} a number of days.
TEXTS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("claims", "delay"): [
        (
            "理赔拖延迟迟不赔付",
            "{line}报案已经{days}天，材料早已交齐，理赔员一直说在审核，赔款迟迟不到账，要求尽快赔付。",
        ),
        ("赔案久拖不决", "出险后按要求提交了全部理赔材料，{days}天过去了仍然没有核定结果，电话催促多次无人答复。"),
        ("理赔时效太慢", "{line}小额案件也要等{days}天，承诺的快速理赔没有兑现，拖延理赔严重影响生活。"),
    ],
    ("claims", "denial"): [
        ("拒赔理由不成立", "保险公司以免责条款为由拒赔，但投保时销售人员从未说明该条款，拒赔通知书也没有写明依据。"),
        ("不认可拒赔决定", "{line}出险后被告知不属于保险责任，拒赔结论与合同约定不符，要求重新核定并书面说明理由。"),
    ],
    ("claims", "amount"): [
        ("定损金额过低", "车辆维修报价远高于定损金额，查勘员定损时没有充分核实损失，要求重新定损。"),
        ("理算金额有争议", "医疗费用中多项被扣除，理算明细不清楚，赔付金额明显偏低，要求解释扣减依据。"),
        ("核损结果不合理", "核损金额与实际损失差距大，对定损结果不认可，要求第三方评估。"),
    ],
    ("claims", "materials"): [
        (
            "反复要求补交材料",
            "第一次通知只要了发票，后来又让补交诊断证明和病历，补交材料来回{days}次，没有一次性告知。",
        ),
        ("材料要求不一次说清", "理赔员多次电话要求补充不同材料，每次说法都不一样，补交材料耽误了很长时间。"),
    ],
    ("claims", "attitude"): [
        ("理赔员态度恶劣", "理赔员接电话态度很差，问进度就挂电话，服务态度需要整改。"),
        ("查勘员服务差", "查勘员到现场迟到两个小时，态度敷衍，对我的问题不耐烦。"),
    ],
    ("claims", "progress"): [
        ("理赔进度查不到", "报案后一直不知道进度，查询不到案件状态，也没有短信通知，理赔进度不透明。"),
        ("没有进度通知", "{days}天没有任何通知，不知道案件处理到哪一步，要求及时告知理赔进度。"),
    ],
    ("claims", "payment"): [
        ("赔款未到账", "已经通知结案，但赔款一直没有到账，银行账户信息确认无误。"),
        ("赔款支付错误", "赔款金额与结案通知不一致，少付了一部分，要求补足赔款。"),
    ],
    ("sales", "misleading"): [
        ("销售误导购买", "业务员说这是存款产品，保本高收益，实际是保险，属于销售误导，要求全额退保。"),
        ("夸大收益误导", "销售时承诺分红收益，实际收益远低于宣传，感觉被误导。"),
    ],
    ("sales", "undisclosed_terms"): [
        ("免责条款未说明", "投保时没有人说明免责条款，出险后才知道不赔，要求承担说明义务。"),
    ],
    ("sales", "tied_sales"): [
        ("贷款捆绑保险", "办理车贷时被要求必须购买保险，属于捆绑销售，要求退还保费。"),
    ],
    ("sales", "unauthorised"): [
        ("未经同意代签名投保", "保单上的签名不是本人所签，未经同意投保，要求撤销保单退还保费。"),
    ],
    ("sales", "harassment"): [
        ("电话推销骚扰", "每天接到多次电话推销保险，多次要求不要再打仍然继续骚扰。"),
    ],
    ("surrender", "cash_value"): [
        ("退保金额太少", "申请退保后现金价值只有已交保费的一半，退保损失太大，投保时没有告知。"),
    ],
    ("surrender", "cooling_off"): [
        ("犹豫期退保被拒", "在犹豫期内申请退保，柜面以各种理由拒绝办理，要求全额退还保费。"),
    ],
    ("surrender", "delay"): [
        ("退保办理拖延", "退保申请提交{days}天仍未办理完成，退保款迟迟不到账。"),
    ],
    ("surrender", "agency_surrender"): [
        ("代理退保纠纷", "被所谓代理退保机构诱导投诉，现在需要核实退保事宜。"),
    ],
    ("underwriting", "refusal"): [
        ("无故拒保", "续保时被告知拒保，没有说明拒保原因。"),
    ],
    ("underwriting", "premium"): [
        ("保费上涨不合理", "今年续保保费大幅上涨，没有出险记录，保费计算有问题。"),
    ],
    ("underwriting", "health_disclosure"): [
        ("健康告知争议", "投保时没有询问该疾病，出险后以未如实告知为由不赔。"),
    ],
    ("underwriting", "policy_delivery"): [
        ("保单一直未收到", "投保{days}天了还没有收到保单和回执。"),
    ],
    ("policy_service", "change_delay"): [
        ("保全变更办理太慢", "申请变更联系电话和地址，保全变更{days}天没有办好。"),
    ],
    ("policy_service", "beneficiary"): [
        ("受益人变更不成功", "多次提交受益人变更申请，一直被退回，要求说明原因。"),
    ],
    ("policy_service", "renewal"): [
        ("续保没有提醒", "保单到期没有任何续保提醒，导致脱保期间出险无法理赔。"),
    ],
    ("policy_service", "loan"): [
        ("保单贷款办理难", "申请保单贷款被告知系统问题，反复办理不成功。"),
    ],
    ("policy_service", "payment_account"): [
        ("扣款账户错误", "续期保费从已注销的账户扣款失败，却没有通知，保单失效。"),
    ],
    ("service", "attitude"): [
        ("客服态度差", "客服人员服务态度差，说话不耐烦，问题没有解决就结束通话。"),
    ],
    ("service", "hotline_access"): [
        ("客服热线打不通", "客服热线一直占线，排队半小时打不通，人工服务难以接通。"),
    ],
    ("service", "information"): [
        ("告知信息不完整", "办理业务时没有告知需要的材料和流程，来回跑了好几趟。"),
    ],
    ("service", "privacy"): [
        ("个人信息泄露", "投保后频繁接到其他公司推销电话，怀疑个人信息被泄露。"),
    ],
    ("service", "app_system"): [
        ("APP无法上传材料", "手机APP上传理赔材料一直失败，系统故障无法提交。"),
    ],
    ("other", "suggestion"): [
        ("建议简化理赔流程", "建议简化小额理赔流程，线上提交材料后尽快赔付。"),
    ],
    ("other", "unclassified"): [
        ("其他问题咨询未果", "多次咨询问题没有得到明确答复。"),
    ],
}

# How complaints spread over the categories (about 42 % concern claims, as in the industry figures).
CATEGORY_WEIGHTS = {
    "claims": 0.42,
    "sales": 0.16,
    "surrender": 0.12,
    "underwriting": 0.06,
    "policy_service": 0.09,
    "service": 0.12,
    "other": 0.03,
}

# Channel shares; a regulator transfer (12378) is a major complaint by itself.
CHANNEL_WEIGHTS = {
    "hotline": 0.46,
    "app": 0.12,
    "wechat": 0.12,
    "email": 0.04,
    "letter": 0.03,
    "walk_in": 0.08,
    "regulator_12378": 0.12,
    "consumer_association": 0.03,
}
