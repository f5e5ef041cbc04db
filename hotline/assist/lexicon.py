"""General vocabulary of a parcel-carrier service desk: stop words, fillers and concept groups.

Concept groups map everyday words that callers use to a shared concept token, so that
"my package", "the box" and "my order" meet the article that says "parcel". The groups are
domain vocabulary (what a service-desk glossary would list), not sentences of any test set.
Multi-word entries ("pick up") match adjacent words after stemming.
"""

from __future__ import annotations

STOP_WORDS_EN = frozenset(
    """
    a about above after again all also am an and any are aren as at be because been before being
    both but by can could couldn did didn do does doesn doing don down during each else even ever
    for from had hadn has hasn have haven having he her here hers herself him himself his how i if
    in into is isn it its itself just let me mine more most my myself no nor not of off on once only
    or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was wasn we
    were weren what when where which while who whom why will with won would wouldn you your yours
    yourself yourselves ll re ve d s t m o y ma can't won't don't i'm i've i'll i'd it's that's
    what's there's you're they're we're isn't aren't wasn't weren't hasn't haven't didn't doesn't
    shouldn't couldn't wouldn't let's he's she's who's thing things something anything stuff really
    actually got get gets getting go going gonna want wanted wanna need needs like know tell say said
    says one way make made still now today already well please thanks thank much many also maybe
    """.split()
)

FILLERS_EN = frozenset(
    """
    um umm uh uhh er erm hmm mm ah oh eh yeah yes yep yup ok okay right alright hi hello hey so
    basically literally kind sort mean guess sorry hang sec bye cheers great lovely sure fine cool
    """.split()
)

# Chinese fillers and function words removed before character n-grams.
FILLERS_ZH = ("那个", "这个", "就是", "然后", "一下", "请问", "你好", "您好", "嗯", "啊", "呃", "哦", "吧", "呢", "吗",
              "了", "的", "我", "你", "您", "们")

CONCEPTS_EN: dict[str, tuple[str, ...]] = {
    "parcel": ("parcel", "package", "packet", "shipment", "consignment", "delivery", "order", "item",
               "box", "goods", "post", "mail"),
    "courier": ("courier", "driver", "delivery man", "delivery driver", "postman", "postie", "van",
                "delivery guy", "deliveryman", "delivery person"),
    "deliver": ("deliver", "delivered", "arrive", "arrived", "turn up", "turned up", "come", "came",
                "reach", "drop", "dropped"),
    "home": ("home", "house", "flat", "address", "door", "doorstep", "front door", "porch"),
    "spot": ("neighbour", "neighbor", "porch", "shed", "garage", "garden", "doorstep", "bin", "behind",
             "back door", "safe place", "leave", "left"),
    "damage": ("damage", "damaged", "broken", "break", "broke", "smashed", "crushed", "cracked",
               "shattered", "ruined", "wet", "soaked", "soaking", "dented", "destroyed", "pieces", "bent",
               "torn", "ripped", "leaking"),
    "lost": ("lost", "missing", "disappeared", "vanished", "gone", "never arrived", "never came",
             "no sign", "never turned up"),
    "late": ("late", "delay", "delayed", "overdue", "slow", "slower", "longer", "waiting", "past", "behind"),
    "cancel": ("cancel", "cancelled", "cancellation", "changed mind", "don't need", "no longer"),
    "price": ("price", "cost", "costs", "cheap", "cheaper", "cheapest", "expensive", "rate", "rates",
              "quote", "fee", "how much", "tariff"),
    "collect": ("collect", "collection", "pick up", "pickup", "fetch", "grab", "come and get",
                "go and get"),
    "shop": ("shop", "parcel shop", "store", "newsagent", "newsagents", "corner shop", "post office",
             "service point", "branch", "depot", "counter", "outlet", "office"),
    "abroad": ("abroad", "overseas", "international", "country", "countries", "foreign", "australia",
               "america", "usa", "states", "canada", "france", "germany", "spain", "italy", "japan",
               "china", "india", "ireland", "europe", "eu", "asia", "new zealand", "poland"),
    "holiday": ("christmas", "xmas", "easter", "black friday", "new year", "festive", "holiday",
                "holidays", "peak", "busy period", "sales", "rush", "twenty fifth", "cyber monday"),
    "weekend": ("saturday", "sunday", "weekend", "weekends"),
    "weekday": ("monday", "tuesday", "wednesday", "thursday", "friday", "weekday"),
    "notify": ("text", "texts", "sms", "message", "messages", "email", "emails", "notification",
               "notifications", "alert", "alerts", "warning", "update", "updates"),
    "scam": ("scam", "fraud", "phishing", "fake", "suspicious", "dodgy", "link", "genuine", "real",
             "legit", "con"),
    "phone": ("phone", "mobile", "number", "sim", "cell", "contact"),
    "sign": ("sign", "signature", "signed", "autograph"),
    "pay": ("pay", "paid", "payment", "cash", "card", "money", "pounds", "quid", "dollars", "euros",
            "charge", "owe", "amount"),
    "tax": ("tax", "taxes", "duty", "duties", "vat", "customs", "import", "clearance", "customs fee"),
    "complain": ("complain", "complaint", "rude", "aggressive", "abusive", "shouted", "swore", "threw",
                 "thrown", "kicked", "kick", "careless", "behaviour", "attitude", "unprofessional",
                 "throwing", "dangerous driving", "speeding"),
    "return": ("return", "returns", "returning", "send back", "sending back", "post back", "refund"),
    "refuse": ("refuse", "refused", "reject", "rejected", "don't want", "not accept"),
    "login": ("login", "log in", "sign in", "password", "account", "locked out", "verification",
              "code", "app", "username"),
    "invoice": ("invoice", "receipt", "vat receipt", "bill", "statement", "accountant", "expenses"),
    "business": ("business", "company", "firm", "ecommerce", "online shop", "shop owner", "volume",
                 "bulk", "monthly", "contract", "discount", "account manager", "seller"),
    "restricted": ("battery", "batteries", "lithium", "vape", "e-cigarette", "alcohol", "wine", "beer",
                   "spirits", "whisky", "perfume", "aerosol", "lighter", "knife", "knives", "gun",
                   "weapon", "drugs", "medicine", "flammable", "fireworks", "paint", "gas", "allowed",
                   "banned", "prohibited"),
    "pack": ("pack", "packing", "packaging", "package up", "wrap", "wrapping", "bubble wrap", "tape",
             "sellotape", "fragile", "glass", "jar", "jars", "cardboard", "padding", "protect"),
    "size": ("size", "big", "bigger", "large", "huge", "long", "length", "metre", "metres", "meter",
             "cm", "centimetres", "dimensions", "oversized", "wide", "tall"),
    "weight": ("weight", "weigh", "weighs", "heavy", "kilo", "kilos", "kg", "kilograms", "grams", "pounds"),
    "speed": ("fast", "faster", "fastest", "quick", "quicker", "quickest", "urgent", "urgently", "express",
              "next day", "same day", "tomorrow", "asap", "rush"),
    "hours": ("open", "opening", "close", "closing", "closed", "hours", "what time", "until", "till",
              "late", "evening", "morning"),
    "near": ("near", "nearest", "closest", "nearby", "local", "around", "close to", "near me"),
    "locker": ("locker", "lockers", "machine", "kiosk", "compartment", "pin", "parcel box"),
    "someone_else": ("someone else", "different name", "not mine", "not me", "wrong name", "neighbour's",
                     "never heard", "other person"),
    "moved": ("moved", "move house", "moving", "old address", "new address", "relocated"),
    "insure": ("insurance", "insure", "insured", "cover", "protection", "valuable", "valuables",
               "expensive"),
    "claim": ("claim", "claims", "form", "reference", "case", "compensation", "payout", "reimburse"),
    "track": ("track", "tracking", "trace", "where is", "status", "scan", "scanned", "update", "eta",
              "when will", "on its way"),
    "attempt": ("attempt", "attempted", "card", "calling card", "slip", "note", "knock", "knocked",
                "doorbell", "ring", "nobody home", "no one", "nobody", "was in", "was home"),
}

CONCEPTS_EN_EXTRA: dict[str, tuple[str, ...]] = {
    "stuck": ("stuck", "moved", "movement", "sitting", "same place", "same depot", "hub", "sorting centre",
              "sorting center", "transit", "no progress", "hasn't changed", "not changed", "no update"),
    "dispute": ("lie", "lying", "lied", "false", "didn't even", "didn't knock", "didn't ring", "was here",
                "in all day", "sat", "every time", "never knocked", "claimed"),
    "book": ("book", "booking", "arrange", "schedule", "send someone", "send a driver", "come and collect"),
}

# Chinese concept groups, matched as substrings.
CONCEPTS_ZH: dict[str, tuple[str, ...]] = {
    "lost": ("丢", "遗失", "没有消息", "没消息", "找不到", "不见了"),
    "stuck": ("不动", "没动", "不更新", "没更新", "停在", "中转"),
    "tax": ("税", "关税", "清关费"),
    "customs": ("海关", "清关", "护照", "证件", "身份证"),
    "locker": ("柜", "取件码"),
    "courier": ("快递员", "小哥", "司机", "派送员", "送货员"),
    "complain": ("投诉", "态度", "乱扔", "骂"),
    "attempt": ("没敲门", "没上门", "没上楼", "无人在家", "没人在家", "未上门", "谎称"),
    "away": ("不在家", "没在家", "不在"),
    "size": ("大", "长", "米", "厘米", "尺寸", "体积", "超大"),
    "weight": ("重", "公斤", "斤", "千克", "限重"),
    "short": ("少了", "少件", "缺", "短少", "空包", "空的"),
    "hours": ("几点", "营业", "上班", "关门", "开门", "周末", "时间"),
    "abroad": ("国外", "海外", "国际", "日本", "美国", "英国", "澳洲", "澳大利亚", "加拿大", "欧洲", "韩国"),
    "return": ("退货", "寄回", "退回", "退件"),
    "refuse": ("拒收", "不想要", "不要了"),
    "price": ("多少钱", "运费", "价格", "收费", "贵", "便宜", "报价"),
    "cancel": ("取消", "不寄了", "撤"),
    "phone": ("手机号", "号码", "电话"),
    "notify": ("短信", "通知", "推送", "提醒"),
    "login": ("密码", "登录", "验证码", "账号", "账户"),
    "speed": ("当天", "当日", "次日", "加急", "急", "明天", "最快"),
    "holiday": ("圣诞", "春节", "节前", "节假日", "双十一", "黑五", "旺季", "过年"),
    "pack": ("打包", "包装", "易碎", "玻璃", "泡沫", "胶带"),
    "wrong": ("送错", "不是我的", "错投", "别人的"),
    "spot": ("邻居", "门口", "放在", "代收"),
    "business": ("网店", "公司", "企业", "月结", "合作", "折扣", "商家"),
    "insure": ("保价", "保险", "贵重"),
    "damage": ("破", "碎", "坏", "摔", "压扁"),
    "pay": ("现金", "付款", "支付", "到付", "微信", "支付宝"),
    "invoice": ("发票", "收据", "报销"),
    "scam": ("诈骗", "假", "链接", "钓鱼"),
    "pickup": ("上门取件", "上门", "取件", "来拿"),
    "self": ("自提", "自己去取", "自己取", "代收点", "驿站"),
    "address": ("地址", "搬家", "改地址", "转寄"),
    "delivered": ("签收", "妥投", "显示送达"),
    "track": ("查件", "轨迹", "物流", "单号", "到哪"),
    "refund": ("退款", "退钱", "到账"),
    "sign": ("签字", "代签", "本人签收"),
    "service_point": ("网点", "营业部", "附近", "哪里"),
}

# What callers say that asks for no article: greetings, line checks, holding, repeats, thanks,
# goodbyes, bare acknowledgements. Generic call-handling talk of any service desk, embedded once;
# an utterance closer to these than to every article is pushed towards abstention.
NO_INTENT_EN: tuple[str, ...] = (
    "hello", "hi there", "good morning", "hello can you hear me", "can you hear me okay", "are you still there",
    "the line is bad", "you're breaking up", "hold on a moment please", "just a second", "wait a minute",
    "one moment please", "sorry what did you say", "could you say that again", "sorry i didn't catch that",
    "can you speak up", "thank you very much", "thanks that's all", "goodbye", "bye now", "have a nice day",
    "yes", "no", "okay", "alright then", "i see", "uh huh", "let me think", "how are you today",
    "am i speaking to a real person", "sorry i'm a bit distracted", "never mind",
)

# The same generic call-handling talk in Mandarin, for the multilingual model.
NO_INTENT_ZH: tuple[str, ...] = (
    "你好", "您好", "喂", "喂你好", "能听到我说话吗", "你还在吗", "信号不好", "听不清楚", "请稍等一下", "等一下",
    "稍等", "你说什么", "麻烦再说一遍", "没听清", "大声一点", "谢谢", "非常感谢", "好的谢谢就这样", "再见", "拜拜",
    "祝你愉快", "是的", "不是", "好的", "行", "明白了", "嗯嗯", "让我想一想", "你好吗", "你是真人吗", "没事了",
    "今天天气不错",
)
