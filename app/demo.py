"""Deterministic demo data: an ICBC-like city branch in Zunyi (遵义), Guizhou.

``generate(prospects=..., seed=..., today=...)`` returns a ``DemoData`` whose lists
hold plain dicts, one list per table, keyed by the table's column names (``rev``
is left to the loader, ``User.password_hash`` to the central store: the plaintext
demo passwords sit in ``DemoData.passwords``). The same seed and ``today`` give
the same data, id for id.

What it builds:

- 38 outlets (网点) under 29 sub-branches (支行) across the 15 districts and
  counties of Zunyi, at WGS-84 positions near each seat of government;
- 89 users: 2 admins (A…), 13 outlet managers (G…, at flagship and benchmark
  outlets), 45 marketers (M…, every outlet has one) and 29 sub-branch managers
  (Z…, one per sub-branch, sitting at its first outlet); ``DEMO_MARKETER`` works
  at the 汇川 flagship outlet, which gets the most prospects;
- three whitelist batches (经营快贷, 商户贷, 税务贷), one expiring within three weeks;
- prospects with valid credit codes and mobiles, spread 0.5-8 km around their
  outlet, ≈65 % assigned to a marketer of that outlet;
- for assigned prospects, a history over the last ~120 days: funnel events (every
  one allowed by ``app.services.funnel``; the last one's ``to_status`` is the
  prospect's status), marketing logs (every prospect past ``assigned`` has one)
  and a few dozen transfers between marketers of one outlet. A prospect handed over
  and never contacted since was handed over within the last ``UNTOUCHED_DAYS``: the
  store's pool return (``Settings.pool_return_days``) would have taken back an older one;
- the loan system's feed (``DemoData.loan_feed``, ``LoanEventIn`` fields, in the order
  the loan system sends them), live for the last ``LOAN_FEED_DAYS``: every loan a
  prospect applied for since then and the bank did not turn down reports applied,
  then approved and disbursed as far as it got (some disbursed loans later repaid or
  overdue), booked mostly at the prospect's outlet, originated and booked mostly by its
  marketer. The bank's decisions on those loans (approved, disbursed) are the feed's to
  make, so the prospect's own history stops at ``applied`` (the marketer's log of the
  customer agreeing to apply): the store applies the feed after the load
  (``app.server.admin.report_demo_loans``), through the production path, and that moves
  the funnel and shares the credit (分润). Older disbursements were typed on devices
  before the feed went live. A few loans carry credit codes no whitelist has: the
  admin's queue of the unmatched.

Very large runs keep the history to ``HISTORY_LIMIT`` assigned prospects and
leave the rest in the outlets' unassigned pools, so memory stays bounded and the
status/event rule still holds for every row.

Timestamps are naive UTC inside working hours in Beijing (08:30-19:00 = 00:30-11:00
UTC); dates (follow-ups, batch validity) are Beijing calendar dates.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from app.models.batch import BatchSource
from app.models.loan import LoanStatus
from app.models.marketing_log import Channel, Outcome
from app.models.outlet import OutletTier
from app.models.user import Role
from app.services.clock import beijing_today
from app.services.feedback import FeedbackReason
from app.services.funnel import FunnelStatus
from app.services.validation import CREDIT_CODE_CHARSET, make_credit_code

DEMO_PASSWORD = "Puhui@2026"
DEMO_ADMIN = "A0001"
DEMO_MANAGER = "G0001"  # manages the demo marketer's outlet
DEMO_MARKETER = "M0001"  # the `make run` user: 汇川 flagship outlet
DEMO_SUBBRANCH_MANAGER = "Z0001"  # 汇川支行: the flagship outlet and 香港路分理处
DEMO_DEVICE = "demo"
HISTORY_DAYS = 120
HISTORY_LIMIT = 30_000  # assigned prospects with a history; beyond it, the pool grows
ASSIGNED_SHARE = 0.65
TRANSFER_SHARE = 0.05  # of assigned prospects at outlets with two or more marketers
UNTOUCHED_DAYS = 13  # below the store's pool return (Settings.pool_return_days, 14)
LOAN_FEED_DAYS = 45  # the loan system's feed went live this many days ago
UNMATCHED_LOANS = 6  # loans of customers on no whitelist (自然客户): the admin's queue

Row = dict[str, Any]
T = TypeVar("T")

# ---------------------------------------------------------------------------
# Geography: districts and counties, their seats' roads and typical trades.


@dataclass(frozen=True, slots=True)
class _Area:
    name: str  # 汇川区
    company_prefix: str  # how a company registered here is named: 遵义市汇川区 / 仁怀市
    division: str  # GB/T 2260 code inside the credit code
    urban: bool
    roads: tuple[str, ...]
    trades: dict[str, float]  # industry → weight multiplier


_AREAS: dict[str, _Area] = {
    a.name: a
    for a in (
        _Area("汇川区", "遵义市汇川区", "520303", True,
              ("上海路", "大连路", "香港路", "北京路", "珠海路", "宁波路", "广州路", "深圳路",
               "天津路", "温州路", "厦门路", "南京路", "昆明路", "洗马路", "高桥路", "人民路"),
              {"物流运输": 1.5, "汽车维修": 1.5, "建材": 1.3}),
        _Area("红花岗区", "遵义市红花岗区", "520302", True,
              ("中华北路", "中华南路", "丁字口", "杨柳街", "凤凰北路", "凤凰南路", "延安路",
               "红旗路", "海尔大道", "忠庄路", "长征路", "迎红路", "石龙路", "官井路", "子尹路",
               "万里路"),
              {"餐饮": 1.5, "住宿": 1.5, "医药零售": 1.5, "服装零售": 1.5}),
        _Area("新蒲新区", "遵义市新蒲新区", "520300", True,
              ("平安大道", "新蒲大道", "礼仪大道", "辣椒城路", "长嵌沟路", "湘江大道",
               "中建大道", "虾子大道"),
              {"农副产品加工": 3.0, "物流运输": 1.5}),
        _Area("播州区", "遵义市播州区", "520304", True,
              ("南白大道", "府前路", "桂花路", "红星路", "鸭溪大道", "龙坑路", "枫香路", "团溪路"),
              {"农副产品加工": 2.0, "建材": 1.5, "酒类制造": 2.0}),
        _Area("仁怀市", "仁怀市", "520382", False,
              ("国酒大道", "酒都大道", "迎宾大道", "盐津河路", "中枢北路", "中枢南路",
               "杨柳湾街", "名酒工业园路"),
              {"酒类制造": 8.0, "物流运输": 1.5}),
        _Area("赤水市", "赤水市", "520381", False,
              ("人民西路", "河滨大道", "赤水河路", "红军大道", "滨江路", "丹霞路"),
              {"住宿": 3.0, "竹木加工": 6.0, "农副产品加工": 1.5}),
        _Area("桐梓县", "桐梓县", "520322", False,
              ("娄山路", "花园路", "九坝路", "黔北大道", "容光路", "新华路"),
              {"住宿": 3.0, "餐饮": 1.5}),
        _Area("绥阳县", "绥阳县", "520323", False,
              ("洋川大道", "诗乡大道", "双门大道", "朝阳路", "解放路"),
              {"农副产品加工": 3.0, "种植养殖": 2.0}),
        _Area("正安县", "正安县", "520324", False,
              ("凤仪大道", "吉他大道", "和平路", "瑞溪路"),
              {"乐器制造": 8.0, "茶叶": 2.0}),
        _Area("道真县", "道真县", "520325", False,
              ("玉溪大道", "尹珍大道", "上坝路", "民族路"),
              {"种植养殖": 3.0, "农副产品加工": 2.0}),
        _Area("务川县", "务川县", "520326", False,
              ("洪渡河路", "龙潭路", "丹砂大道", "都濡路"),
              {"种植养殖": 3.0, "农副产品加工": 2.0}),
        _Area("凤冈县", "凤冈县", "520327", False,
              ("龙泉大道", "茶海路", "凤翔路", "和平路"),
              {"茶叶": 8.0}),
        _Area("湄潭县", "湄潭县", "520328", False,
              ("茶城大道", "湄江路", "象山路", "黔北大道", "天文路"),
              {"茶叶": 8.0, "住宿": 1.5}),
        _Area("余庆县", "余庆县", "520329", False,
              ("白泥大道", "子营路", "龙溪大道", "构皮滩路"),
              {"茶叶": 4.0, "种植养殖": 2.0}),
        _Area("习水县", "习水县", "520330", False,
              ("杏林路", "东皇大道", "红城大道", "西城路", "温水路"),
              {"酒类制造": 5.0, "建材": 1.5}),
    )
}  # fmt: skip

_F, _B, _G = OutletTier.FLAGSHIP.value, OutletTier.BENCHMARK.value, OutletTier.GENERAL.value

# (area, sub-branch, outlet, tier, lat, lon, road, marketers); 29 sub-branches, 38 outlets.
# Positions are approximate WGS-84 points in each seat (Zunyi centre ≈ 27.7256 N, 106.9272 E).
_OUTLETS: tuple[tuple[str, str, str, str, float, float, str, int], ...] = (
    ("汇川区", "汇川", "营业室", _F, 27.7238, 106.9291, "上海路", 4),
    ("汇川区", "汇川", "香港路分理处", _G, 27.7321, 106.9368, "香港路", 1),
    ("汇川区", "上海路", "营业室", _B, 27.7162, 106.9334, "上海路", 1),
    ("汇川区", "大连路", "营业室", _B, 27.7371, 106.9268, "大连路", 1),
    ("汇川区", "大连路", "宁波路分理处", _G, 27.7423, 106.9331, "宁波路", 1),
    ("汇川区", "北京路", "营业室", _G, 27.7083, 106.9287, "北京路", 1),
    ("汇川区", "珠海路", "营业室", _G, 27.7289, 106.9462, "珠海路", 1),
    ("汇川区", "高桥", "营业室", _G, 27.7552, 106.9238, "高桥路", 1),
    ("汇川区", "洗马路", "营业室", _G, 27.7041, 106.9255, "洗马路", 1),
    ("红花岗区", "红花岗", "营业室", _F, 27.6962, 106.9236, "中华北路", 3),
    ("红花岗区", "红花岗", "丁字口分理处", _G, 27.6931, 106.9219, "中华路", 1),
    ("红花岗区", "中华路", "营业室", _B, 27.6872, 106.9203, "中华南路", 1),
    ("红花岗区", "老城", "营业室", _G, 27.6904, 106.9148, "杨柳街", 1),
    ("红花岗区", "南门关", "营业室", _G, 27.6843, 106.9112, "凤凰南路", 1),
    ("红花岗区", "忠庄", "营业室", _B, 27.6613, 106.9012, "忠庄路", 1),
    ("红花岗区", "忠庄", "海尔大道分理处", _G, 27.6702, 106.9051, "海尔大道", 1),
    ("红花岗区", "长征", "营业室", _G, 27.6548, 106.8921, "长征路", 1),
    ("新蒲新区", "新蒲", "营业室", _B, 27.7042, 106.9987, "平安大道", 1),
    ("新蒲新区", "新蒲", "礼仪分理处", _G, 27.7148, 107.0102, "礼仪大道", 1),
    ("新蒲新区", "虾子", "营业室", _G, 27.7352, 107.0853, "虾子大道", 1),
    ("播州区", "播州", "营业室", _B, 27.5391, 106.8302, "府前路", 1),
    ("播州区", "播州", "桂花路分理处", _G, 27.5332, 106.8361, "桂花路", 1),
    ("播州区", "鸭溪", "营业室", _G, 27.5853, 106.6432, "鸭溪大道", 1),
    ("仁怀市", "仁怀", "营业室", _F, 27.7928, 106.4018, "国酒大道", 3),
    ("仁怀市", "仁怀", "盐津分理处", _G, 27.8079, 106.4147, "盐津河路", 1),
    ("仁怀市", "茅台", "营业室", _B, 27.8582, 106.3781, "杨柳湾街", 1),
    ("赤水市", "赤水", "营业室", _B, 28.5901, 105.6978, "人民西路", 1),
    ("桐梓县", "桐梓", "营业室", _B, 28.1332, 106.8252, "娄山路", 1),
    ("绥阳县", "绥阳", "营业室", _G, 27.9462, 107.1911, "洋川大道", 1),
    ("正安县", "正安", "营业室", _G, 28.5532, 107.4438, "凤仪大道", 1),
    ("道真县", "道真", "营业室", _G, 28.8641, 107.6129, "玉溪大道", 1),
    ("务川县", "务川", "营业室", _G, 28.5632, 107.8991, "洪渡河路", 1),
    ("凤冈县", "凤冈", "营业室", _G, 27.9542, 107.7168, "龙泉大道", 1),
    ("湄潭县", "湄潭", "营业室", _B, 27.7491, 107.4657, "茶城大道", 1),
    ("湄潭县", "湄潭", "茶城分理处", _G, 27.7563, 107.4788, "湄江路", 1),
    ("余庆县", "余庆", "营业室", _G, 27.2212, 107.9051, "白泥大道", 1),
    ("习水县", "习水", "营业室", _G, 28.3318, 106.1992, "东皇大道", 1),
    ("习水县", "习水", "杏林路分理处", _G, 28.3271, 106.2063, "杏林路", 1),
)

# How many prospects an outlet gets, relative to a county general outlet.
_PROSPECT_WEIGHT = {
    (_F, True): 4.0,
    (_B, True): 2.0,
    (_G, True): 1.5,
    (_F, False): 3.0,
    (_B, False): 1.5,
    (_G, False): 0.8,
}

# ---------------------------------------------------------------------------
# Businesses: trades, names, people.

# industry → (base weight, company words, shop words, co-operative word or "", line factor)
_INDUSTRIES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...], str, float]] = {
    "餐饮": (14, ("餐饮管理", "餐饮服务", "食品"),
             ("餐馆", "羊肉粉馆", "豆花面馆", "火锅店", "小吃店", "鸡蛋糕店"), "", 0.8),
    "批发零售": (18, ("商贸", "贸易", "百货"),
                 ("商行", "便利店", "副食店", "日杂店", "超市"), "", 1.0),
    "酒类制造": (4, ("酒业", "酿酒", "酒业销售"), ("酒坊", "酒行", "烤酒坊"), "", 1.6),
    "茶叶": (3, ("茶业", "茶叶", "生态茶业"), ("茶行", "茶庄", "茶叶加工坊"), "茶叶种植", 1.0),
    "农副产品加工": (7, ("农业开发", "食品", "辣椒制品", "农产品"),
                     ("辣椒加工坊", "粮油店", "面坊", "农产品经营部"), "辣椒种植", 1.1),
    "汽车维修": (6, ("汽车服务", "汽车维修"), ("汽修厂", "汽车修理部", "轮胎店"), "", 0.9),
    "建材": (7, ("建材", "建筑材料", "新型建材"), ("建材经营部", "五金建材店", "瓷砖店"), "", 1.3),
    "物流运输": (6, ("物流", "运输", "供应链管理"), ("货运部", "物流配送站"), "", 1.2),
    "住宿": (5, ("酒店管理", "旅游开发"), ("宾馆", "客栈", "农家乐"), "", 1.0),
    "医药零售": (4, ("医药", "大药房连锁"), ("大药房", "药店"), "", 1.0),
    "服装零售": (5, ("服饰", "服装"), ("服装店", "鞋店"), "", 0.7),
    "种植养殖": (3, ("农业", "生态养殖", "种植"), ("养殖场", "种植基地"), "生态养殖", 0.9),
    "竹木加工": (1, ("竹业", "竹木制品"), ("竹编坊", "木材加工厂"), "竹林种植", 1.0),
    "乐器制造": (1, ("乐器", "吉他制造"), ("乐器加工坊",), "", 1.4),
}  # fmt: skip

_BRAND_HEAD = "黔鑫兴盛恒昌荣福泰祥瑞丰源达旺顺和宏佳利华正德金永嘉新红娄湄凤乐康安惠诚信博汇聚鼎"
_BRAND_TAIL = "丰隆兴盛源达昌泰祥瑞发顺和宏佳利华德鑫福康安惠诚信辉旺盈成益通"
_BRAND_PLACES = ("娄山关", "海龙屯", "赤水河", "湘江", "凤凰山", "黔北", "夜郎", "乌江", "大娄山")
_SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田田董袁潘蔡蒋余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟"
    "熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤母冉骆申敖"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅飞鹏辉建国林琳波斌宇浩凯俊峰"
    "雪婷欣怡佳晨阳琴燕云莉兵松江海德福志文武学成家庆春秋菊"
    "赟燊喆堃"  # outside GB2312, as real names often are: the font must draw them
)
_MOBILE_PREFIXES = tuple(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 177"
    " 180 181 182 183 185 186 187 188 189 191 198 199".split()
)
_ORG_CHARS = CREDIT_CODE_CHARSET

# product → (batch name, source, valid from (days before today), valid until (days after),
#            median line, min line, max line, tag)
_PRODUCTS: tuple[tuple[str, str, str, int, int, int, int, int, str], ...] = (
    ("经营快贷", "经营快贷白名单（总行下发）", BatchSource.HEAD_OFFICE.value, 130, 16,
     300_000, 30_000, 3_000_000, "结算户"),
    ("商户贷", "商户贷白名单（遵义分行）", BatchSource.BRANCH.value, 95, 75,
     100_000, 30_000, 1_000_000, "收单商户"),
    ("税务贷", "税务贷白名单（总行下发·第二批）", BatchSource.HEAD_OFFICE.value, 50, 180,
     500_000, 50_000, 3_000_000, "纳税信用A级"),
)  # fmt: skip
# product weights by kind of business: company, individual business, co-operative
_PRODUCT_WEIGHTS = {"1": (35, 20, 45), "2": (40, 55, 5), "3": (70, 10, 20)}
_EXTRA_TAGS = (
    "代发工资客户",
    "首贷户",
    "老客户",
    "新开户",
    "有房产",
    "高潜力",
    "园区企业",
    "商圈客户",
    "乡村振兴",
    "专精特新",
    "有社保缴纳",
    "他行有贷款",
)

_NOTES: dict[str, tuple[str, ...]] = {
    Outcome.NO_ANSWER.value: ("电话无人接听", "未接通，稍后再联系", "关机，已发短信", "占线"),
    Outcome.NOT_INTERESTED.value: ("客户表示暂无资金需求", "已在他行贷款，暂不考虑",
                                   "客户觉得利率偏高", "经营规模小，暂不需要", "客户放弃提款"),
    Outcome.CONSIDERING.value: ("客户需与家人商量", "已介绍利率和期限，客户考虑中",
                                "客户关注利率，需比较", "客户下月进货时再定"),
    Outcome.INTERESTED.value: ("客户有进货资金需求，有意向", "客户计划扩大经营，意向较强",
                               "约下周到店详谈", "已讲解线上申请流程"),
    Outcome.AGREED_TO_APPLY.value: ("客户同意申请，已指导手机银行操作", "已协助客户提交申请",
                                    "客户到网点办理申请", "已收集营业执照和经营流水"),
    Outcome.WRONG_CONTACT.value: ("号码错误，非本人", "联系人已不在该企业", "空号",
                                  "企业已停业"),
}  # fmt: skip
_TRANSFER_REASONS = (
    "客户经营地址变更，就近分配",
    "原营销人员岗位调整",
    "客户要求更换客户经理",
    "均衡营销工作量",
    "原客户经理休假",
)

# channels (visit, phone, wechat, at_outlet) by what the contact was for
_V, _P, _W, _O = (
    c.value for c in (Channel.VISIT, Channel.PHONE, Channel.WECHAT, Channel.AT_OUTLET)
)
_CHANNELS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    Outcome.NO_ANSWER.value: ((_P, _W), (85, 100)),
    Outcome.CONSIDERING.value: ((_P, _V, _W, _O), (50, 85, 95, 100)),
    Outcome.INTERESTED.value: ((_V, _P, _W, _O), (45, 75, 90, 100)),
    Outcome.AGREED_TO_APPLY.value: ((_O, _V, _P, _W), (45, 80, 90, 100)),
    Outcome.NOT_INTERESTED.value: ((_P, _V, _W), (60, 85, 100)),
    Outcome.WRONG_CONTACT.value: ((_P, _V), (90, 100)),
}
# days until the next follow-up a log proposes; None: no follow-up
_FOLLOW_UP: dict[str, tuple[int, int] | None] = {
    Outcome.NO_ANSWER.value: (1, 3),
    Outcome.CONSIDERING.value: (3, 10),
    Outcome.INTERESTED.value: (2, 7),
    Outcome.AGREED_TO_APPLY.value: (3, 7),
    Outcome.NOT_INTERESTED.value: None,
    Outcome.WRONG_CONTACT.value: None,
}

_UNASSIGNED, _ASSIGNED, _CONTACTED, _INTERESTED, _APPLIED, _APPROVED, _DISBURSED = (
    s.value
    for s in (
        FunnelStatus.UNASSIGNED,
        FunnelStatus.ASSIGNED,
        FunnelStatus.CONTACTED,
        FunnelStatus.INTERESTED,
        FunnelStatus.APPLIED,
        FunnelStatus.APPROVED,
        FunnelStatus.DISBURSED,
    )
)
_DECLINED, _INVALID = FunnelStatus.DECLINED.value, FunnelStatus.INVALID.value
# the reason a closing event gives, by the outcome of the log just before it
_CLOSE_REASON: dict[str, str] = {
    Outcome.WRONG_CONTACT.value: FeedbackReason.WRONG_CONTACT.value,
    Outcome.NOT_INTERESTED.value: FeedbackReason.NOT_INTERESTED.value,
}
_OPEN = frozenset({_ASSIGNED, _CONTACTED, _INTERESTED, _APPLIED, _APPROVED})
_LOAN_STAGES = (_APPLIED, _APPROVED, _DISBURSED)  # the funnel's statuses a loan reports
_STAGES = (_CONTACTED, _INTERESTED, _APPLIED, _APPROVED, _DISBURSED)
_STAGE_LOG = {
    _CONTACTED: Outcome.CONSIDERING.value,
    _INTERESTED: Outcome.INTERESTED.value,
    _APPLIED: Outcome.AGREED_TO_APPLY.value,
}
# chance of reaching each stage from the one before: contacted, interested, applied, ...
_STAGE_ODDS = (0.60, 0.45, 0.50, 0.75, 0.85)
# days between one stage and the next (from the previous step)
_STAGE_GAP = {
    _CONTACTED: (0, 6),
    _INTERESTED: (1, 10),
    _APPLIED: (1, 14),
    _APPROVED: (1, 7),
    _DISBURSED: (0, 5),
}
_NO_ANSWER, _CONSIDERING, _INTERESTED_LOG = (
    Outcome.NO_ANSWER.value,
    Outcome.CONSIDERING.value,
    Outcome.INTERESTED.value,
)
_NOT_INTERESTED, _WRONG = Outcome.NOT_INTERESTED.value, Outcome.WRONG_CONTACT.value
_KM_PER_DEG = 111.32
_DAY = 86_400
_WORK_START, _WORK_SPAN = 1_800, 37_800  # 00:30-11:00 UTC = 08:30-19:00 Beijing


@dataclass(slots=True)
class DemoData:
    """Generated rows per table (attribute = table name) and the users' demo passwords."""

    outlet: list[Row] = field(default_factory=list)
    user: list[Row] = field(default_factory=list)
    whitelist_batch: list[Row] = field(default_factory=list)
    prospect: list[Row] = field(default_factory=list)
    marketing_log: list[Row] = field(default_factory=list)
    funnel_event: list[Row] = field(default_factory=list)
    transfer: list[Row] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)  # employee_no → plaintext
    # the loan system's reports (``LoanEventIn`` fields), in the order it sends them: not
    # a table, the store takes them through its feed after the load
    loan_feed: list[Row] = field(default_factory=list)

    def tables(self) -> dict[str, list[Row]]:
        """Rows by table name, parents first (the order to insert them)."""
        return {
            "outlet": self.outlet,
            "user": self.user,
            "whitelist_batch": self.whitelist_batch,
            "prospect": self.prospect,
            "marketing_log": self.marketing_log,
            "funnel_event": self.funnel_event,
            "transfer": self.transfer,
        }

    def counts(self) -> dict[str, int]:
        """Row count per table."""
        return {name: len(rows) for name, rows in self.tables().items()}


def generate(*, prospects: int = 6000, seed: int = 20240112, today: date | None = None) -> DemoData:
    """Build the demo data set; the same ``seed`` and ``today`` give the same rows."""
    if prospects < 0:
        raise ValueError("prospects must be >= 0")
    return _Generator(random.Random(seed), today or beijing_today()).run(prospects)


# -- fast draws: ``Random.randint``/``choice``/``choices`` cost several times more, and
# a 100,000-prospect run makes millions of draws.


def _pick(rand: Callable[[], float], seq: Sequence[T]) -> T:
    return seq[int(rand() * len(seq))]


def _between(rand: Callable[[], float], lo: int, hi: int) -> int:
    return lo + int(rand() * (hi - lo + 1))


def _weighted(rand: Callable[[], float], seq: Sequence[T], cum: Sequence[float]) -> T:
    return seq[bisect_right(cum, rand() * cum[-1])]


def _cumulative(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


# uuid.UUID(int=bits, version=4), done by hand (three times faster, same text).
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)


@dataclass(slots=True)
class _OutletCtx:
    row: Row
    area: _Area
    cos_lat: float
    marketers: list[str]
    manager: str | None
    industry_cum: list[float]


_INDUSTRY_NAMES = tuple(_INDUSTRIES)
_CHANNEL_CUM = {k: (names, _cumulative(w)) for k, (names, w) in _CHANNELS.items()}


class _Generator:
    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.rand = rng.random
        self.today = today
        self.midnight = datetime.combine(today, time())  # day 0 as naive UTC
        self.data = DemoData()
        self.names: set[str] = set()
        self.codes: set[str] = set()
        self.phones: set[str] = set()
        self.tags: dict[tuple[str, ...], str] = {}
        self.demo_marketer = ""
        self.demo_due = 0
        self.loans: _LoanFeed  # made once the outlets are (``run``)

    # -- small helpers -------------------------------------------------------

    def uid(self, rng: random.Random | None = None) -> str:
        h = "%032x" % ((rng or self.rng).getrandbits(128) & _UUID_CLEAR | _UUID_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def at(self, seconds: int) -> datetime:
        """Seconds relative to today 00:00 UTC → naive UTC datetime."""
        return self.midnight + timedelta(seconds=seconds)

    def person(self, rand: Callable[[], float] | None = None) -> str:
        rand = rand or self.rand
        surname = "令狐" if rand() < 0.004 else _pick(rand, _SURNAMES)
        given = _pick(rand, _GIVEN)
        return surname + (given if rand() < 0.3 else given + _pick(rand, _GIVEN))

    def staff_name(self) -> str:
        while (name := self.person()) in self.names:
            pass
        self.names.add(name)
        return name

    def mobile(self) -> str:
        rand = self.rand
        while True:
            phone = f"{_pick(rand, _MOBILE_PREFIXES)}{int(rand() * 100_000_000):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def credit_code(self, division: str, kind: str) -> str:
        rand = self.rand
        chars = _ORG_CHARS
        while True:
            if kind == "1" and rand() < 0.3:  # an older, all-digit organisation code
                body = f"{_pick(rand, '3567')}{int(rand() * 10_000_000):07d}"
            else:  # assigned since 2015 in Guizhou: MA6…
                body = "MA6" + "".join([_pick(rand, chars) for _ in range(5)])
            code = make_credit_code(division, body, kind=kind)
            if code not in self.codes:
                self.codes.add(code)
                return code

    def tag_json(self, tags: tuple[str, ...]) -> str:
        text = self.tags.get(tags)
        if text is None:
            text = self.tags[tags] = json.dumps(list(tags), ensure_ascii=False)
        return text

    def near(self, ctx: _OutletCtx, lo_km: float, hi_km: float) -> tuple[float, float]:
        rand = self.rand
        dist = lo_km + (hi_km - lo_km) * math.sqrt(rand())
        bearing = rand() * math.tau
        return (
            round(ctx.row["lat"] + dist * math.cos(bearing) / _KM_PER_DEG, 6),
            round(ctx.row["lon"] + dist * math.sin(bearing) / (_KM_PER_DEG * ctx.cos_lat), 6),
        )

    # -- the whole run -------------------------------------------------------

    def run(self, prospects: int) -> DemoData:
        ctxs = self.outlets()
        self.users(ctxs)
        self.batches()
        # The loan feed draws from its own generator, seeded by the outlets: adding it
        # changed no other row (the whitelist's and the histories' draws are as before).
        self.loans = _LoanFeed(
            self, ctxs, random.Random("loans:" + ",".join(str(c.row["id"]) for c in ctxs))
        )
        self.prospects(ctxs, prospects)
        if prospects:
            self.loans.unmatched(UNMATCHED_LOANS)
        self.data.loan_feed = self.loans.events()
        return self.data

    def outlets(self) -> list[_OutletCtx]:
        ctxs = []
        for i, (area_name, branch, unit, tier, lat, lon, road, _) in enumerate(_OUTLETS, 1):
            area = _AREAS[area_name]
            row: Row = {
                "id": self.uid(),
                "code": f"GZ-ZY-{i:03d}",
                "name": f"工行遵义{branch}支行{unit}",
                "tier": tier,
                "branch_name": f"工行遵义{branch}支行",
                "address": f"贵州省遵义市{area_name}{road}{_between(self.rand, 1, 260)}号",
                "lat": lat,
                "lon": lon,
            }
            self.data.outlet.append(row)
            cum = _cumulative(_INDUSTRIES[k][0] * area.trades.get(k, 1.0) for k in _INDUSTRY_NAMES)
            ctxs.append(_OutletCtx(row, area, math.cos(math.radians(lat)), [], None, cum))
        return ctxs

    def users(self, ctxs: list[_OutletCtx]) -> None:
        counters = {Role.ADMIN: 0, Role.OUTLET_MANAGER: 0, Role.MARKETER: 0}
        letters = {Role.ADMIN: "A", Role.OUTLET_MANAGER: "G", Role.MARKETER: "M"}

        def add(role: Role, ctx: _OutletCtx) -> str:
            counters[role] += 1
            employee_no = f"{letters[role]}{counters[role]:04d}"
            row: Row = {
                "id": self.uid(),
                "employee_no": employee_no,
                "name": self.staff_name(),
                "role": role.value,
                "outlet_id": ctx.row["id"],
                "active": True,
            }
            self.data.user.append(row)
            self.data.passwords[employee_no] = DEMO_PASSWORD
            return str(row["id"])

        # Admins sit at the branch's flagship outlet; their scope is every outlet anyway.
        for _ in range(2):
            add(Role.ADMIN, ctxs[0])
        for ctx, spec in zip(ctxs, _OUTLETS, strict=True):
            if ctx.row["tier"] != _G:
                ctx.manager = add(Role.OUTLET_MANAGER, ctx)
            ctx.marketers = [add(Role.MARKETER, ctx) for _ in range(spec[7])]
        self.demo_marketer = next(
            u["id"] for u in self.data.user if u["employee_no"] == DEMO_MARKETER
        )
        self.subbranch_managers(ctxs)

    def subbranch_managers(self, ctxs: list[_OutletCtx]) -> None:
        """One sub-branch manager (Z…) per sub-branch, at its first outlet. They draw from
        their own generator, seeded by the outlets, so adding them changed no other row."""
        rng = random.Random("subbranch:" + ",".join(str(c.row["id"]) for c in ctxs))
        seen: set[str] = set()
        for ctx in ctxs:
            branch = str(ctx.row["branch_name"])
            if branch in seen:
                continue
            seen.add(branch)
            employee_no = f"Z{len(seen):04d}"
            while (name := self.person(rng.random)) in self.names:
                pass
            self.names.add(name)
            self.data.user.append(
                {
                    "id": self.uid(rng),
                    "employee_no": employee_no,
                    "name": name,
                    "role": Role.SUBBRANCH_MANAGER.value,
                    "outlet_id": ctx.row["id"],
                    "active": True,
                }
            )
            self.data.passwords[employee_no] = DEMO_PASSWORD

    def batches(self) -> None:
        for product, name, source, before, after, *_ in _PRODUCTS:
            valid_from = self.today - timedelta(days=before)
            self.data.whitelist_batch.append(
                {
                    "id": self.uid(),
                    "name": f"{valid_from.year}年{name}",
                    "product": product,
                    "source": source,
                    "valid_from": valid_from,
                    "valid_until": self.today + timedelta(days=after),
                    "created_at": datetime.combine(valid_from, time(1, 30)) - timedelta(days=1),
                    "version": 1,
                    "outlet_id": None,
                    "created_by": None,
                }
            )

    # -- prospects and their history ------------------------------------------

    def prospects(self, ctxs: list[_OutletCtx], count: int) -> None:
        rand = self.rand
        rng = self.rng
        outlet_cum = _cumulative(_PROSPECT_WEIGHT[(c.row["tier"], c.area.urban)] for c in ctxs)
        product_cum = {kind: _cumulative(w) for kind, w in _PRODUCT_WEIGHTS.items()}
        batches = self.data.whitelist_batch
        append = self.data.prospect.append
        with_history = 0
        for _ in range(count):
            ctx = _weighted(rand, ctxs, outlet_cum)
            area = ctx.area
            industry = _weighted(rand, _INDUSTRY_NAMES, ctx.industry_cum)
            _, company_words, shop_words, coop_word, line_factor = _INDUSTRIES[industry]
            legal_rep = self.person()
            if rand() < 0.06:
                brand = _pick(rand, _BRAND_PLACES)
            else:
                brand = _pick(rand, _BRAND_HEAD) + _pick(rand, _BRAND_TAIL)
            u = rand()
            if coop_word and u < 0.3:
                kind, name = "3", f"{area.company_prefix}{brand}{coop_word}农民专业合作社"
            elif u < 0.55:
                kind = "1"
                name = f"{area.company_prefix}{brand}{_pick(rand, company_words)}有限公司"
            elif u < 0.85:
                kind, name = "2", f"{area.company_prefix}{brand}{_pick(rand, shop_words)}"
            else:
                kind, name = "2", f"{area.company_prefix}{legal_rep}个体工商户"
            b = _weighted(rand, (0, 1, 2), product_cum[kind])
            batch = batches[b]
            _, _, _, _, _, median, lo, hi, product_tag = _PRODUCTS[b]
            scale = line_factor * (0.5 if kind == "2" else 0.8 if kind == "3" else 1.0)
            line = rng.lognormvariate(math.log(median * scale), 0.7)
            line = min(hi, max(lo, round(line / 1000) * 1000))
            tags = [product_tag] if rand() < 0.6 else []
            if kind != "1":
                tags.append("个体工商户" if kind == "2" else "涉农")
            extra = rand()
            if extra < 0.55:
                tags.append(_pick(rand, _EXTRA_TAGS))
                if extra < 0.2 and (second := _pick(rand, _EXTRA_TAGS)) not in tags:
                    tags.append(second)
            lat, lon = self.near(ctx, 0.5, 4.0 if area.urban else 8.0)
            suffix = f"附{_between(rand, 1, 12)}号" if rand() < 0.3 else ""
            road = _pick(rand, area.roads)
            row: Row = {
                "id": self.uid(),
                "batch_id": batch["id"],
                "company_name": name,
                "credit_code": self.credit_code(area.division, kind),
                "legal_rep": legal_rep,
                "phone": self.mobile(),
                "industry": industry,
                "address": f"遵义市{area.name}{road}{_between(rand, 1, 399)}号{suffix}",
                "lat": lat,
                "lon": lon,
                "pre_approved_line": line,
                "score": int(rng.triangular(40, 99.999, 78)),
                "tags": self.tag_json(tuple(tags)),
                "outlet_id": ctx.row["id"],
                "assignee_id": None,
                "status": _UNASSIGNED,
                "disbursed_amount": None,
                "last_contact_at": None,
                "next_follow_up": None,
                "updated_at": batch["created_at"],
                "batch_version": 1,
                "withdrawn_at": None,
                "withdrawn_reason": "",
                "assigned_at": None,
            }
            if rand() < ASSIGNED_SHARE and with_history < HISTORY_LIMIT:
                with_history += 1
                self.history(row, ctx, batch["valid_from"], batch["product"])
            append(row)

    def plan(self, level: int, transfer: bool) -> list[tuple[str, str, int]]:
        """The steps of one history: (E event | L log | T transfer, status | outcome, day gap).

        ``level`` is how far along the main line the prospect got (0 assigned … 5 disbursed);
        whether it then closed is drawn here.
        """
        rand = self.rand
        steps: list[tuple[str, str, int]] = [("E", _ASSIGNED, 0)]
        if transfer:
            steps.append(("T", "", _between(rand, 0, 2)))
        if level == 0:
            u = rand()
            if u < 0.06:
                steps += [("L", _WRONG, _between(rand, 1, 8)), ("E", _INVALID, 0)]
            elif u < 0.30:
                steps += [("L", _NO_ANSWER, _between(rand, 0, 5))] * _between(rand, 1, 2)
            return steps
        steps += [("L", _NO_ANSWER, _between(rand, 0, 3))] * _pick(rand, (0, 0, 1, 2))
        skip_contacted = level >= 2 and rand() < 0.08  # agreed on the first call
        skip_interested = level >= 3 and rand() < 0.10
        for stage in _STAGES[:level]:
            if (stage == _CONTACTED and skip_contacted) or (
                stage == _INTERESTED and skip_interested
            ):
                continue
            gap = _between(rand, *_STAGE_GAP[stage])
            outcome = _STAGE_LOG.get(stage)
            if outcome:
                steps += [("L", outcome, gap), ("E", stage, 0)]
            else:
                steps.append(("E", stage, gap))
        u = rand()
        if level == 1 and u < 0.07:
            steps += [("L", _WRONG, _between(rand, 0, 3)), ("E", _INVALID, 0)]
        elif (level == 1 and u < 0.35) or (level == 2 and u < 0.25):
            steps += [("L", _NOT_INTERESTED, _between(rand, 1, 20)), ("E", _DECLINED, 0)]
        elif level == 3 and u < 0.75:  # the bank turned the application down
            steps.append(("E", _DECLINED, _between(rand, 2, 10)))
        elif level == 4 and u < 0.35:  # approved, but the customer never drew it
            steps += [("L", _NOT_INTERESTED, _between(rand, 3, 20)), ("E", _DECLINED, 0)]
        elif level in (1, 2) and u < 0.75:  # one more follow-up while it stays open
            steps.append(
                ("L", _CONSIDERING if level == 1 else _INTERESTED_LOG, _between(rand, 2, 15))
            )
        return steps

    def history(self, row: Row, ctx: _OutletCtx, batch_from: date, product: str) -> None:
        """Assign ``row`` to a marketer and play its funnel forward, filling logs and events;
        a loan it applied for while the feed was live goes to the feed (module docstring)."""
        rand = self.rand
        assignee = _pick(rand, ctx.marketers)
        transfer_from = None
        if len(ctx.marketers) > 1 and rand() < TRANSFER_SHARE:
            transfer_from = _pick(rand, [m for m in ctx.marketers if m != assignee])
        level = 0
        for odds in _STAGE_ODDS:
            if rand() >= odds:
                break
            level += 1
        steps = self.plan(level, transfer_from is not None)

        # Fit the steps between the batch start (at most HISTORY_DAYS ago) and yesterday:
        # nothing happens today or later.
        first = max((batch_from - self.today).days, -HISTORY_DAYS)
        if not any(kind == "L" for kind, _, _ in steps):
            # never contacted: handed over recently, or the pool return had taken it back
            first = max(first, -UNTOUCHED_DAYS)
        avail = -1 - first
        total = sum(s[2] for s in steps)
        if total > avail:
            steps = [(k, v, g * avail // total) for k, v, g in steps]
            total = sum(s[2] for s in steps)
        day = first + _between(rand, 0, avail - total)

        data = self.data
        at, uid = self.at, self.uid
        manager = ctx.manager
        outlet_id = ctx.row["id"]
        prospect_id = row["id"]
        status = planned = _UNASSIGNED  # as stored; as it would be without the feed
        final = next(v for k, v, _ in reversed(steps) if k == "E")
        loan: list[tuple[str, int, int | None]] = []  # what the feed reports: status, day, 元
        author = transfer_from or assignee
        now = latest = first * _DAY
        log: Row | None = None
        prev_kind = ""
        handed: datetime | None = None  # when the current assignee got it
        for kind, value, gap in steps:
            day += gap
            when = day * _DAY + _WORK_START + int(rand() * _WORK_SPAN)
            if when <= now:  # same day as the step before: a little later
                when = now + 300 + int(rand() * 2_700)
            now = when
            occurred = at(when)
            handed = handed or occurred  # assigned with its first step
            if kind == "E":
                if value == _ASSIGNED:
                    actor = manager or author  # no manager here: the marketer claimed it
                elif prev_kind == "L" and gap == 0:
                    actor = author  # the marketer records what the contact just brought
                else:
                    actor = manager or assignee  # the bank's decisions: approval, rejection
                amount = None
                if value == _DISBURSED:
                    amount = int(row["pre_approved_line"] * (0.4 + 0.6 * rand())) // 1000 * 1000
                    row["disbursed_amount"] = amount
                recorded = when + _between(rand, 2, 90)
                planned = value
                if value == _APPLIED and final in _LOAN_STAGES and day >= -LOAN_FEED_DAYS:
                    loan.append((value, day, None))  # the marketer's log moved it; reported too
                elif loan and value in _LOAN_STAGES:  # the bank's decision: the feed's to report
                    loan.append((value, day, amount))
                    uid()  # the event's id, drawn still: every other row stays as it was
                    prev_kind = kind
                    continue
                close_reason = ""
                if value in (_DECLINED, _INVALID):  # why, from the contact that closed it
                    outcome = log["outcome"] if log is not None and prev_kind == "L" else ""
                    close_reason = _CLOSE_REASON.get(outcome, FeedbackReason.NOT_ELIGIBLE.value)
                data.funnel_event.append(
                    {
                        "id": uid(),
                        "prospect_id": prospect_id,
                        "actor_id": actor,
                        "from_status": status,
                        "to_status": value,
                        "applied": True,
                        "reason_code": "",
                        "close_reason": close_reason,
                        "close_note": "",
                        "amount": amount,
                        "occurred_at": occurred,
                        "recorded_at": at(recorded),
                    }
                )
                status = value
            elif kind == "T":
                recorded = when
                data.transfer.append(
                    {
                        "id": uid(),
                        "prospect_id": prospect_id,
                        "from_user_id": transfer_from,
                        "to_user_id": assignee,
                        "from_outlet_id": outlet_id,
                        "to_outlet_id": outlet_id,
                        "by_user_id": manager or assignee,
                        "reason": _pick(rand, _TRANSFER_REASONS),
                        "created_at": occurred,
                    }
                )
                author = assignee
                handed = occurred
            else:
                if rand() < 0.15 and when + 6 * 3_600 < 0:  # made offline, synced later
                    recorded = when + _between(rand, 3_600, 6 * 3_600)
                else:
                    recorded = when + _between(rand, 2, 120)
                channel = _weighted(rand, *_CHANNEL_CUM[value])
                check_lat = check_lon = None
                if channel == _V:  # check-in within ~130 m of the business
                    check_lat = round(row["lat"] + (rand() - 0.5) * 0.0024, 6)
                    check_lon = round(row["lon"] + (rand() - 0.5) * 0.0024, 6)
                follow = _FOLLOW_UP[value]
                log = {
                    "id": uid(),
                    "prospect_id": prospect_id,
                    "channel": channel,
                    "occurred_at": occurred,
                    "outcome": value,
                    "note": _pick(rand, _NOTES[value]),
                    "next_follow_up": (
                        self.today + timedelta(days=day + _between(rand, *follow))
                        if follow
                        else None
                    ),
                    "lat": check_lat,
                    "lon": check_lon,
                    "attachments": "[]",
                    "author_id": author,
                    "device_id": DEMO_DEVICE,
                    "recorded_at": at(recorded),
                }
                data.marketing_log.append(log)
                row["last_contact_at"] = occurred
            if recorded > latest:
                latest = recorded
            prev_kind = kind

        row["assignee_id"] = assignee
        row["assigned_at"] = handed
        row["status"] = status
        row["updated_at"] = at(latest)
        if log is not None and planned in _OPEN:
            row["next_follow_up"] = log["next_follow_up"] = self.follow_up(assignee, day)
        elif log is not None and status in _OPEN:  # disbursed once the feed is applied
            row["next_follow_up"] = log["next_follow_up"]
        if loan:
            row["disbursed_amount"] = None  # the feed's disbursement sets it
            self.loans.loan(row, ctx, assignee, product, loan)

    def follow_up(self, assignee: str, last_day: int) -> date:
        """The next follow-up of an open prospect: around today, some due today or overdue."""
        rand = self.rand
        offset = _between(rand, -5, 12)
        if assignee == self.demo_marketer and self.demo_due < 10:
            # The demo marketer opens on a list with work due today and a few overdue.
            offset = 0 if self.demo_due < 6 else -_between(rand, 1, 3)
            if offset > last_day:
                self.demo_due += 1
                return self.today + timedelta(days=offset)
        if offset <= last_day:
            offset = last_day + _between(rand, 1, 5)
        return self.today + timedelta(days=offset)


# -- the loan system's feed --------------------------------------------------------------

_LOAN_RANK = {s.value: i for i, s in enumerate(LoanStatus)}  # the order it reports them in


def _round_up(amount: float, unit: int) -> int:
    return -int(-amount // unit) * unit


class _LoanFeed:
    """The loan system's reports of the demo's loans (module docstring), from its own
    random generator: one event per status of a loan, as ``LoanEventIn`` fields."""

    def __init__(self, gen: _Generator, ctxs: list[_OutletCtx], rng: random.Random) -> None:
        self.gen = gen
        self.rand = rng.random
        self.ctxs = ctxs
        self.employee_no = {u["id"]: u["employee_no"] for u in gen.data.user}
        self.reports: list[Row] = []
        self.count = 0

    def loan(
        self,
        row: Row,
        ctx: _OutletCtx,
        assignee: str,
        product: str,
        stages: list[tuple[str, int, int | None]],
    ) -> None:
        """One whitelisted prospect's loan: its statuses as far as it got (day, and the
        disbursed amount the history drew), then perhaps repaid or overdue."""
        rand = self.rand
        line = row["pre_approved_line"]
        disbursed = next((a for s, _, a in stages if s == _DISBURSED), None)
        base = disbursed or int(line * (0.4 + 0.6 * rand())) // 1000 * 1000
        approved = min(line, _round_up(base, 10_000))  # drawn in full or in part
        applied = min(line, _round_up(approved * (1 + 0.3 * rand()), 10_000))
        amounts = {_APPLIED: applied, _APPROVED: approved, _DISBURSED: disbursed or approved}
        days: list[tuple[str, int]] = []
        for status, day, _ in stages:
            if not days:  # in the loan system the day after the marketer's log, room left
                day = min(day + 1, -1)
            else:  # the bank decides on a later day where the history leaves room
                day = max(day, min(days[-1][1] + 1, -1))
            days.append((status, day))
        if disbursed is not None:
            on = days[-1][1]
            u = rand()
            if u < 0.06 and on + 31 <= -1:  # the first instalment missed
                days.append((LoanStatus.OVERDUE.value, _between(rand, on + 31, min(-1, on + 45))))
            elif u < 0.18 and on + 7 <= -1:  # paid back early (随借随还)
                days.append((LoanStatus.REPAID.value, _between(rand, on + 7, min(-1, on + 40))))
        amounts[LoanStatus.OVERDUE.value] = amounts[LoanStatus.REPAID.value] = disbursed or 0
        self.add(row["credit_code"], ctx, assignee, product, days, amounts)

    def unmatched(self, count: int) -> None:
        """Loans of customers on no whitelist (credit codes no prospect carries)."""
        rand, gen = self.rand, self.gen
        for _ in range(count):
            ctx = _pick(rand, self.ctxs)
            kind = "2" if rand() < 0.6 else "1"
            while True:
                body = "MA6" + "".join([_pick(rand, _ORG_CHARS) for _ in range(5)])
                code = make_credit_code(ctx.area.division, body, kind=kind)
                if code not in gen.codes:
                    gen.codes.add(code)
                    break
            product = _pick(rand, _PRODUCTS)[0]
            amount = _between(rand, 5, 80) * 10_000
            last = _between(rand, 0, 2)
            day = -_between(rand, 4, 20)
            days = []
            for status in _LOAN_STAGES[: last + 1]:
                days.append((status, min(day, -1)))
                day += _between(rand, 1, 3)
            if last == 2 and rand() < 0.5:  # reported only once disbursed
                days = days[-1:]
            amounts = dict.fromkeys(_LOAN_STAGES, amount)
            self.add(code, ctx, _pick(rand, ctx.marketers), product, days, amounts)

    def add(
        self,
        credit_code: str,
        ctx: _OutletCtx,
        marketer: str,
        product: str,
        days: list[tuple[str, int]],
        amounts: dict[str, int],
    ) -> None:
        booking, originator, booker = self.parties(ctx, marketer)
        self.count += 1
        first = self.gen.today + timedelta(days=days[0][1])
        loan_id = f"ZYDK{first:%Y%m%d}{self.count:04d}"
        for status, day in days:
            self.reports.append(
                {
                    "loan_id": loan_id,
                    "credit_code": credit_code,
                    "status": status,
                    "amount": amounts[status],
                    "occurred_on": self.gen.today + timedelta(days=day),
                    "booking_outlet_code": booking.row["code"],
                    "originator_employee_no": self.employee_no[originator],
                    "booker_employee_no": self.employee_no[booker],
                    "product": product,
                }
            )

    def parties(self, ctx: _OutletCtx, marketer: str) -> tuple[_OutletCtx, str, str]:
        """The booking outlet (mostly the prospect's own, else one nearby), originator and
        booker (mostly its marketer; sometimes a colleague, or staff of another outlet)."""
        rand = self.rand
        elsewhere = [c for c in self.ctxs if c.area is ctx.area and c is not ctx]
        elsewhere = elsewhere or [c for c in self.ctxs if c is not ctx]
        booking = _pick(rand, elsewhere) if rand() < 0.15 else ctx
        colleagues = [m for m in ctx.marketers if m != marketer]
        colleagues += [ctx.manager] if ctx.manager else []
        u = rand()
        if u < 0.7 or (u < 0.88 and not colleagues):
            originator = marketer
        elif u < 0.88:
            originator = _pick(rand, colleagues)
        else:  # a referral from another outlet, the booking one when it is another
            other = booking if booking is not ctx else _pick(rand, elsewhere)
            originator = _pick(rand, other.marketers)
        if booking is not ctx:
            booker = booking.manager or _pick(rand, booking.marketers)
        elif rand() < 0.55 or not colleagues:
            booker = marketer
        else:
            booker = _pick(rand, colleagues)
        return booking, originator, booker

    def events(self) -> list[Row]:
        """Every report, in the order the loan system sends them (day by day)."""
        return sorted(
            self.reports,
            key=lambda e: (e["occurred_on"], e["loan_id"], _LOAN_RANK[e["status"]]),
        )
