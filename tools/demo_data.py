#!/usr/bin/env python3
# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Seed a crm_plus database with demo data, in-process with trytond.

    demo_data.py -c var/trytond.conf -d crmdemo [--size full|small]

Creates the provinces of China, a Chinese company (currency CNY, address
in Shanghai, China), the users manager, sales1 and sales2 with their
employees (manager supervises both salespeople), a sales team, the CRM
configuration (phone numbers read in China), two public pools with release
rules, customers (companies with contacts, and individuals, with addresses
by province and city) spread over the pools and the owners, follow-ups over
the last 60 days, open plans for the coming week, a running campaign,
opportunities in every state (won ones at the last stage at 100 %, lost
ones with a reason, some waiting for the manager's approval), leads in
every state, an expense waiting for approval, the targets of the
month with their progress and a sales inbox whose emails become leads.

Everything runs in one transaction and is saved in batches. The documents
go through their buttons as their users would click them: the owner files,
wins or loses, the approver approves (the CRM manager, admin, when the
requester has no supervisor). Owners are given through Party.assign_to,
which logs the assignments. The data is random but reproducible (--seed).
"""

import argparse
import datetime as dt
import math
import random
import time
from collections import defaultdict, namedtuple
from contextlib import contextmanager
from decimal import Decimal

# The password of every demo user, admin included (8 characters at least,
# different from the logins)
PASSWORD = 'crmdemo1'

User = namedtuple(
    'User', 'login name pinyin role role_zh language supervisor')
USERS = [
    User('manager', '王建国', 'wang.jianguo',
        'sales manager, supervisor of sales1 and sales2, approves their '
        'filings and expenses',
        '销售经理，sales1 和 sales2 的上级，审批他们的商机报备和费用',
        'zh_CN', None),
    User('sales1', '李娜', 'li.na', 'salesperson', '销售员', 'en', 'manager'),
    User('sales2', '张伟', 'zhang.wei', 'salesperson', '销售员', 'zh_CN',
        'manager'),
    ]
COMPANY_NAME = '上海云图信息科技有限公司'
COMPANY_TIMEZONE = 'Asia/Shanghai'

# Pools: (key, name, claimers (logins, empty = everyone), rules)
# rules: (customer type xml id or None, no follow-up days, no deal days)
POOLS = [
    ('east', '华东公海', [], [
            (None, 30, 180),
            ('customer_type_key', 60, None),
            ]),
    ('south', '华南公海', ['manager', 'sales2'], [
            (None, 45, None),
            ]),
    ]
# The provinces of China (ISO 3166-2:CN), as trytond_import_countries
# would import them from pycountry: code, name, Chinese name, type
PROVINCES = [
    ('AH', 'Anhui Sheng', '安徽省', 'province'),
    ('BJ', 'Beijing Shi', '北京市', 'municipality'),
    ('CQ', 'Chongqing Shi', '重庆市', 'municipality'),
    ('FJ', 'Fujian Sheng', '福建省', 'province'),
    ('GD', 'Guangdong Sheng', '广东省', 'province'),
    ('GS', 'Gansu Sheng', '甘肃省', 'province'),
    ('GX', 'Guangxi Zhuangzu Zizhiqu', '广西壮族自治区',
        'autonomous region'),
    ('GZ', 'Guizhou Sheng', '贵州省', 'province'),
    ('HA', 'Henan Sheng', '河南省', 'province'),
    ('HB', 'Hubei Sheng', '湖北省', 'province'),
    ('HE', 'Hebei Sheng', '河北省', 'province'),
    ('HI', 'Hainan Sheng', '海南省', 'province'),
    ('HK', 'Hong Kong SAR', '香港特别行政区',
        'special administrative region'),
    ('HL', 'Heilongjiang Sheng', '黑龙江省', 'province'),
    ('HN', 'Hunan Sheng', '湖南省', 'province'),
    ('JL', 'Jilin Sheng', '吉林省', 'province'),
    ('JS', 'Jiangsu Sheng', '江苏省', 'province'),
    ('JX', 'Jiangxi Sheng', '江西省', 'province'),
    ('LN', 'Liaoning Sheng', '辽宁省', 'province'),
    ('MO', 'Macao SAR', '澳门特别行政区', 'special administrative region'),
    ('NM', 'Nei Mongol Zizhiqu', '内蒙古自治区', 'autonomous region'),
    ('NX', 'Ningxia Huizu Zizhiqu', '宁夏回族自治区', 'autonomous region'),
    ('QH', 'Qinghai Sheng', '青海省', 'province'),
    ('SC', 'Sichuan Sheng', '四川省', 'province'),
    ('SD', 'Shandong Sheng', '山东省', 'province'),
    ('SH', 'Shanghai Shi', '上海市', 'municipality'),
    ('SN', 'Shaanxi Sheng', '陕西省', 'province'),
    ('SX', 'Shanxi Sheng', '山西省', 'province'),
    ('TJ', 'Tianjin Shi', '天津市', 'municipality'),
    ('TW', 'Taiwan Sheng', '台湾省', 'province'),
    ('XJ', 'Xinjiang Uygur Zizhiqu', '新疆维吾尔自治区', 'autonomous region'),
    ('XZ', 'Xizang Zizhiqu', '西藏自治区', 'autonomous region'),
    ('YN', 'Yunnan Sheng', '云南省', 'province'),
    ('ZJ', 'Zhejiang Sheng', '浙江省', 'province'),
    ]
# The province of each city of CITIES
CITY_PROVINCES = {
    '上海': 'SH', '杭州': 'ZJ', '南京': 'JS', '苏州': 'JS', '宁波': 'ZJ',
    '合肥': 'AH', '厦门': 'FJ', '广州': 'GD', '深圳': 'GD', '东莞': 'GD',
    '佛山': 'GD', '北京': 'BJ', '天津': 'TJ', '武汉': 'HB', '长沙': 'HN',
    '成都': 'SC', '重庆': 'CQ', '西安': 'SN', '沈阳': 'LN',
    }
# City, pinyin, area code, region xml id, pool key
CITIES = [
    ('上海', 'sh', '21', 'region_east', 'east'),
    ('杭州', 'hz', '571', 'region_east', 'east'),
    ('南京', 'nj', '25', 'region_east', 'east'),
    ('苏州', 'sz', '512', 'region_east', 'east'),
    ('宁波', 'nb', '574', 'region_east', 'east'),
    ('合肥', 'hf', '551', 'region_east', 'east'),
    ('厦门', 'xm', '592', 'region_east', 'east'),
    ('广州', 'gz', '20', 'region_south', 'south'),
    ('深圳', 'shz', '755', 'region_south', 'south'),
    ('东莞', 'dg', '769', 'region_south', 'south'),
    ('佛山', 'fs', '757', 'region_south', 'south'),
    ('北京', 'bj', '10', 'region_north', 'east'),
    ('天津', 'tj', '22', 'region_north', 'east'),
    ('武汉', 'wh', '27', 'region_central', 'east'),
    ('长沙', 'cs', '731', 'region_central', 'east'),
    ('成都', 'cd', '28', 'region_southwest', 'east'),
    ('重庆', 'cq', '23', 'region_southwest', 'east'),
    ('西安', 'xa', '29', 'region_northwest', 'east'),
    ('沈阳', 'sy', '24', 'region_northeast', 'east'),
    ]
BRANDS = [
    ('华信', 'huaxin'), ('远航', 'yuanhang'), ('恒通', 'hengtong'),
    ('金桥', 'jinqiao'), ('鼎盛', 'dingsheng'), ('新创', 'xinchuang'),
    ('博远', 'boyuan'), ('宏达', 'hongda'), ('天成', 'tiancheng'),
    ('瑞丰', 'ruifeng'), ('中科', 'zhongke'), ('星辰', 'xingchen'),
    ('海纳', 'haina'), ('锦程', 'jincheng'), ('东方', 'dongfang'),
    ('嘉禾', 'jiahe'), ('安泰', 'antai'), ('同创', 'tongchuang'),
    ('长青', 'changqing'), ('联创', 'lianchuang'), ('明德', 'mingde'),
    ('智汇', 'zhihui'), ('永丰', 'yongfeng'), ('蓝海', 'lanhai'),
    ('启明', 'qiming'), ('正泰', 'zhengtai'), ('华宇', 'huayu'),
    ]
# Industry xml id: business words
INDUSTRIES = {
    'industry_manufacturing': ['机械制造', '精密仪器', '电子', '汽车配件',
        '新材料'],
    'industry_it': ['信息科技', '软件', '网络科技', '数据科技'],
    'industry_retail': ['商贸', '百货', '贸易'],
    'industry_finance': ['投资管理', '融资租赁'],
    'industry_education': ['教育科技', '职业培训'],
    'industry_healthcare': ['医疗器械', '生物科技', '医药'],
    'industry_construction': ['建设工程', '建材'],
    }
SURNAMES = [
    ('王', 'wang'), ('李', 'li'), ('张', 'zhang'), ('刘', 'liu'),
    ('陈', 'chen'), ('杨', 'yang'), ('黄', 'huang'), ('赵', 'zhao'),
    ('吴', 'wu'), ('周', 'zhou'), ('徐', 'xu'), ('孙', 'sun'), ('马', 'ma'),
    ('朱', 'zhu'), ('胡', 'hu'), ('郭', 'guo'), ('何', 'he'), ('林', 'lin'),
    ('罗', 'luo'), ('高', 'gao'), ('郑', 'zheng'), ('梁', 'liang'),
    ('谢', 'xie'), ('宋', 'song'), ('唐', 'tang'), ('韩', 'han'),
    ('冯', 'feng'), ('邓', 'deng'), ('曹', 'cao'), ('彭', 'peng'),
    ]
GIVEN_NAMES = [
    ('伟', 'wei'), ('芳', 'fang'), ('娜', 'na'), ('敏', 'min'),
    ('静', 'jing'), ('丽', 'li'), ('强', 'qiang'), ('磊', 'lei'),
    ('军', 'jun'), ('洋', 'yang'), ('勇', 'yong'), ('艳', 'yan'),
    ('杰', 'jie'), ('涛', 'tao'), ('明', 'ming'), ('超', 'chao'),
    ('秀英', 'xiuying'), ('霞', 'xia'), ('平', 'ping'), ('刚', 'gang'),
    ('浩然', 'haoran'), ('欣怡', 'xinyi'), ('子涵', 'zihan'),
    ('建华', 'jianhua'), ('志强', 'zhiqiang'), ('海燕', 'haiyan'),
    ('晓东', 'xiaodong'), ('雪梅', 'xuemei'), ('国庆', 'guoqing'),
    ('文博', 'wenbo'), ('思远', 'siyuan'), ('佳琪', 'jiaqi'),
    ]
POSITIONS = ['总经理', '副总经理', '采购经理', '技术总监', '财务经理',
    '销售总监', '行政主管', '项目经理']
STREETS = ['人民路', '中山路', '建设路', '解放路', '科技园路', '长江路',
    '新华路', '创业大道', '滨江大道', '高新区软件园']
# Method xml id: (subject, content) of follow-ups
FOLLOW_UPS = {
    'follow_up_method_phone': [
        ('电话沟通采购需求', '客户表示下季度有采购计划，约定下周发送报价。'),
        ('电话回访使用情况', '客户反馈产品运行稳定，希望增加培训。'),
        ],
    'follow_up_method_visit': [
        ('上门拜访', '拜访客户总经理，介绍新产品线，客户反馈积极。'),
        ('现场演示', '在客户现场演示系统，技术部门提出两项定制需求。'),
        ],
    'follow_up_method_email': [
        ('发送产品资料', '已通过邮件发送产品手册和报价单。'),
        ('发送合同草案', '合同草案已发给客户法务审核。'),
        ],
    'follow_up_method_wechat': [
        ('微信跟进报价', '客户对价格有疑问，已解释折扣政策。'),
        ],
    'follow_up_method_meeting': [
        ('方案评审会议', '与客户技术团队讨论实施方案，需补充技术参数。'),
        ('商务谈判', '就付款方式和交付周期达成初步一致。'),
        ],
    'follow_up_method_sms': [
        ('短信提醒', '提醒客户参加下周的产品发布会。'),
        ],
    }
PLANS = [
    ('回访客户', '了解上次报价的反馈。'),
    ('确认合同条款', '与客户确认付款方式和交付时间。'),
    ('安排产品演示', '准备演示环境，邀请客户技术负责人参加。'),
    ('节日问候', '送上节日问候，顺便了解新项目。'),
    ('催收尾款', '提醒客户按合同支付尾款。'),
    ]
CUSTOMER_TYPES = [
    ('customer_type_direct', 45), ('customer_type_key', 12),
    ('customer_type_agent', 15), ('customer_type_partner', 10),
    ('customer_type_supplier', 8), ('customer_type_competitor', 5),
    ]
STATUSES = [('potential', 40), ('intention', 30), ('deal', 20), ('lost', 10)]
SOURCES = ['customer_source_website', 'customer_source_referral',
    'customer_source_exhibition', 'customer_source_cold_call',
    'customer_source_advertising', 'customer_source_campaign',
    'customer_source_phone', 'customer_source_email']
LEVELS = [('customer_level_a', 20), ('customer_level_b', 50),
    ('customer_level_c', 30)]
# Size: (companies, individuals, share of the customers left in the pools)
SIZES = {
    'full': (180, 60, 0.3),
    'small': (8, 4, 0.5),
    }

# Opportunities: (name, amount range in CNY)
OPPORTUNITIES = [
    ('ERP 系统升级项目', (300_000, 1_200_000)),
    ('云服务器采购', (80_000, 400_000)),
    ('仓储管理系统实施', (200_000, 800_000)),
    ('办公网络改造', (50_000, 250_000)),
    ('数据中心扩容', (500_000, 2_000_000)),
    ('CRM 软件年度订阅', (30_000, 120_000)),
    ('生产线自动化改造', (400_000, 1_500_000)),
    ('信息安全等级保护咨询', (60_000, 300_000)),
    ]
# State and weight of the demo opportunities: every state appears once
OPPORTUNITY_STATES = [('in_progress', 50), ('draft', 7), ('waiting', 8),
    ('suspended', 7), ('won', 19), ('lost', 9)]
LOST_REASONS = ['lost_reason_price', 'lost_reason_competitor',
    'lost_reason_budget', 'lost_reason_cancelled']
CAMPAIGN = ('2026 秋季新品发布会', 'campaign_type_exhibition', 50_000,
    '在上海国际会展中心发布新一代云 ERP，邀请华东重点客户参会。',
    '到场客户 80 家以上，产生商机 20 个。')
APPROVED = '同意。'
# Leads: title, company, contact, email domain, source, owner login (None:
# every salesperson sees it), from the campaign, state; the company None
# for a lead of a known customer
LEADS = [
    ('官网咨询：仓储管理系统报价', '苏州凯瑞物流有限公司', '周敏',
        'kairui-sz', 'customer_source_website', None, False, 'new'),
    ('展会留资：云 ERP 演示', '杭州澜川智能装备有限公司', '陈静',
        'lanchuan-hz', 'customer_source_exhibition', None, True, 'new'),
    ('电话咨询：办公网络改造', '南京拓普商贸有限公司', '刘强',
        'tuopu-nj', 'customer_source_phone', 'sales2', False, 'new'),
    ('展会留资：数据中心扩容', '上海弘毅数据科技有限公司', '黄磊',
        'hongyi-sh', 'customer_source_exhibition', 'sales1', True,
        'following'),
    ('邮件咨询：CRM 软件年度订阅', '深圳沃德网络科技有限公司', '吴芳',
        'wode-shz', 'customer_source_email', 'sales2', False, 'following'),
    ('转介绍：生产线自动化改造', '宁波思源汽车配件有限公司', '孙伟',
        'siyuan-nb', 'customer_source_referral', 'sales1', False,
        'converted'),
    ('老客户新需求：云服务器采购', None, None, None,
        'customer_source_phone', None, False, 'converted'),
    ('广告留资：信息安全咨询', '某科技公司', '王先生', 'unknown',
        'customer_source_advertising', 'sales1', False, 'invalid'),
    ('展会留资：重复登记', '杭州澜川智能装备有限公司', '陈静',
        'lanchuan-hz', 'customer_source_exhibition', 'sales2', True,
        'invalid'),
    ]
LEAD_FOLLOW_UP = ('电话沟通需求', '客户确认有采购意向，约定下周上门演示。')
EXPENSE = ('秋季新品发布会展位搭建差旅', 'expense_type_travel', 3_800,
    '两名销售赴上海布展，含往返高铁和两晚住宿。')
INBOX = '销售收件箱'


def phone_is_valid(number):
    "Tell whether phonenumbers, when the party module uses it, accepts it"
    try:
        import phonenumbers
    except ImportError:
        return True
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def weighted(rng, choices):
    values, weights = zip(*choices)
    return rng.choices(values, weights)[0]


class Seeder:
    def __init__(self, pool, rng, today):
        self.pool = pool
        self.rng = rng
        self.today = today
        self.names = set()
        self.phones = set()
        self.emails = set()
        self.ModelData = pool.get('ir.model.data')
        self.refs = {}
        # The users by login and the logins by employee id
        self.users = {}
        self.logins = {}

    def ref(self, xml_id, module='crm_plus'):
        "Return the record of an XML id"
        key = (module, xml_id)
        if key not in self.refs:
            model_data, = self.ModelData.search([
                    ('module', '=', module), ('fs_id', '=', xml_id)])
            self.refs[key] = self.pool.get(model_data.model)(
                model_data.db_id)
        return self.refs[key]

    @contextmanager
    def acting_as(self, login):
        "Run as the user, with the context that the client sends"
        from trytond.transaction import Transaction
        User = self.pool.get('res.user')
        transaction = Transaction()
        with transaction.set_user(self.users[login].id):
            with transaction.set_context(
                    User.get_preferences(context_only=True)):
                yield

    def by_login(self, records, employee_of):
        """Yield the login and the records of each user, from the employee
        of each record; admin (the CRM manager) for no employee"""
        groups = defaultdict(list)
        for record in records:
            employee = employee_of(record)
            groups[self.logins.get(employee.id if employee else None,
                    'admin')].append(record)
        yield from groups.items()

    def unique(self, seen, make):
        for _ in range(1000):
            value = make()
            if value not in seen:
                seen.add(value)
                return value
        raise RuntimeError('Not enough distinct demo values')

    def person_name(self):
        surname, given = (self.rng.choice(SURNAMES),
            self.rng.choice(GIVEN_NAMES))
        return surname[0] + given[0], f'{surname[1]}.{given[1]}'

    def phone(self, make):
        "Return a new phone number that the party module accepts"
        for _ in range(100):
            number = self.unique(self.phones, make)
            if phone_is_valid(number):
                return number
        raise RuntimeError(f'No valid phone number like {number}')

    def mobile(self):
        return self.phone(lambda: '+86 1%d%d %04d %04d' % (
                self.rng.choice([3, 5, 8]), self.rng.randrange(10),
                self.rng.randrange(10000), self.rng.randrange(10000)))

    def landline(self, area):
        # 8-digit local numbers, 7 digits in a few cities
        digits = 4 if phone_is_valid(f'+86 {area} 6550 1234') else 3
        return self.phone(lambda: '+86 %s %0*d %04d' % (
                area, digits, self.rng.randrange(2 * 10 ** (digits - 1),
                    9 * 10 ** (digits - 1)), self.rng.randrange(10000)))

    def email(self, local, domain):
        address, n = f'{local}@{domain}', 2
        while address in self.emails:
            address, n = f'{local}{n}@{domain}', n + 1
        self.emails.add(address)
        return address

    # Company, users, configuration

    def create_provinces(self):
        "Create the provinces of China, named in English and Chinese"
        from trytond.transaction import Transaction
        Subdivision = self.pool.get('country.subdivision')
        china = self.china()
        existing = {s.code for s in china.subdivisions}
        Subdivision.create([{'country': china.id, 'code': f'CN-{code}',
                    'name': name, 'type': type_}
                for code, name, _, type_ in PROVINCES
                if f'CN-{code}' not in existing])
        provinces = {s.code[3:]: s for s in Subdivision.search([
                    ('country', '=', china.id)])}
        with Transaction().set_context(language='zh_CN'):
            for code, _, name, _ in PROVINCES:
                Subdivision.write([provinces[code]], {'name': name})
        self.provinces = provinces

    def address(self, city, **values):
        "Return an address in the city, in China"
        province = self.provinces[CITY_PROVINCES[city]]
        return self.pool.get('party.address')(country=province.country,
            subdivision=province, city=city + '市', **values)

    def create_company(self):
        pool = self.pool
        Currency = pool.get('currency.currency')
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        currencies = Currency.search([('code', '=', 'CNY')])
        if currencies:
            currency, = currencies
        else:
            currency = Currency(name='人民币', code='CNY', symbol='¥',
                numeric_code='156', digits=2)
            currency.save()
        self.create_provinces()
        party = Party(name=COMPANY_NAME, addresses=[
                self.address('上海', district='浦东新区',
                    street='张江高科技园区碧波路 690 号',
                    postal_code='201203')])
        party.save()
        company = Company(party=party, currency=currency,
            timezone=COMPANY_TIMEZONE)
        company.save()
        return company

    def china(self):
        """Return China, created if the countries were not imported: the
        company's country reads the phone numbers without country code"""
        from trytond.transaction import Transaction
        Country = self.pool.get('country.country')
        countries = Country.search([('code', '=', 'CN')], limit=1)
        if countries:
            return countries[0]
        country = Country(name='China', code='CN', code3='CHN',
            code_numeric='156')
        country.save()
        with Transaction().set_context(language='zh_CN'):
            Country.write([Country(country.id)], {'name': '中国'})
        return country

    def create_users(self, company):
        pool = self.pool
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        UserModel = pool.get('res.user')
        Lang = pool.get('ir.lang')
        langs = {l.code: l for l in Lang.search([])}
        crm_user = self.ref('group_crm_user')
        employees = {}
        for user in USERS:
            party = Party(name=user.name, contact_mechanisms=[
                    pool.get('party.contact_mechanism')(
                        type='email',
                        value=f'{user.pinyin}@yuntu.example.com')])
            party.save()
            employee = Employee(party=party, company=company,
                supervisor=employees.get(user.supervisor),
                start_date=self.today - dt.timedelta(days=400))
            employee.save()
            employees[user.login] = employee
        users = []
        for user in USERS:
            employee = employees[user.login]
            users.append(UserModel(login=user.login, name=user.name,
                    password=PASSWORD,
                    email=f'{user.pinyin}@yuntu.example.com',
                    language=langs[user.language],
                    groups=[crm_user], companies=[company], company=company,
                    employees=[employee], employee=employee))
        UserModel.save(users)
        admin, = UserModel.search([('login', '=', 'admin')])
        admin.companies = [company]
        admin.company = company
        admin.password = PASSWORD
        admin.save()
        self.users = {u.login: u for u in users + [admin]}
        self.logins = {employees[u.login].id: u.login for u in USERS}
        return employees

    def configure(self, company, employees):
        pool = self.pool
        CustomerPool = pool.get('crm.pool')
        Rule = pool.get('crm.pool.release_rule')
        Configuration = pool.get('crm.configuration')
        Team = pool.get('crm.team')
        ConfigItem = pool.get('ir.module.config_wizard.item')
        ConfigItem.write(ConfigItem.search([]), {'state': 'done'})
        pools = {}
        for key, name, claimers, rules in POOLS:
            pools[key] = CustomerPool(name=name, company=company,
                claimers=[employees[c] for c in claimers], warning_days=3,
                exempt_deal=True,
                release_rules=[Rule(
                        customer_type=self.ref(t) if t else None,
                        no_follow_up_days=f, no_deal_days=d)
                    for t, f, d in rules])
        CustomerPool.save(list(pools.values()))
        config = Configuration(1)
        config.default_pool = pools['east']
        config.quota = 150
        config.daily_claim_cap = 20
        config.cooldown_days = 7
        config.stale_days = 30
        config.save()
        team = Team(name='华东销售一组', company=company,
            leader=employees['manager'],
            members=[employees['sales1'], employees['sales2']])
        team.save()
        return pools, team

    # Customers

    def reload(self, customers):
        "Return customers (dict or list) read afresh after SQL updates"
        Party = self.pool.get('party.party')
        if isinstance(customers, dict):
            return {Party(c.id): cs for c, cs in customers.items()}
        return Party.browse([c.id for c in customers])

    def make_company(self, pools):
        pool = self.pool
        Party = pool.get('party.party')
        city = brand = industry = None

        def make_name():
            nonlocal city, brand, industry
            city = self.rng.choice(CITIES)
            brand = self.rng.choice(BRANDS)
            industry = self.rng.choice(list(INDUSTRIES))
            return '%s%s%s有限公司' % (city[0], brand[0],
                self.rng.choice(INDUSTRIES[industry]))
        name = self.unique(self.names, make_name)
        city, city_py, area, region, pool_key = city
        brand_py = brand[1]
        domain = f'{brand_py}-{city_py}.example.com'
        party = Party(name=name, customer_nature='company',
            industry=self.ref(industry))
        party.contact_mechanisms = [
            pool.get('party.contact_mechanism')(
                type='phone', value=self.landline(area)),
            pool.get('party.contact_mechanism')(
                type='email', value=self.email('info', domain)),
            pool.get('party.contact_mechanism')(
                type='website', value=f'https://www.{domain}'),
            ]
        party.addresses = [self.address(city,
                street='%s %d 号' % (
                    self.rng.choice(STREETS), self.rng.randrange(1, 999)))]
        self.classify(party, region, pools[pool_key])
        contacts = []
        for i in range(self.rng.choice([1, 1, 2, 2, 3])):
            name, local = self.person_name()
            contacts.append((Party(name=name, contact_mechanisms=[
                        pool.get('party.contact_mechanism')(
                            type='mobile', value=self.mobile()),
                        pool.get('party.contact_mechanism')(
                            type='email', value=self.email(local, domain)),
                        ]), self.rng.choice(POSITIONS), i == 0))
        return party, contacts

    def make_individual(self, pools):
        pool = self.pool
        Party = pool.get('party.party')
        city, _, _, region, pool_key = self.rng.choice(CITIES)
        local = None

        def make_name():
            nonlocal local
            name, local = self.person_name()
            return name
        name = self.unique(self.names, make_name)
        party = Party(name=name, customer_nature='individual')
        party.contact_mechanisms = [
            pool.get('party.contact_mechanism')(
                type='mobile', value=self.mobile()),
            pool.get('party.contact_mechanism')(
                type='email', value=self.email(local, 'mail.example.com')),
            ]
        party.addresses = [self.address(city)]
        self.classify(party, region, pools[pool_key])
        return party, []

    def classify(self, party, region, customer_pool):
        party.region = self.ref(region)
        party.pool = customer_pool
        party.customer_type = self.ref(weighted(self.rng, CUSTOMER_TYPES))
        party.customer_level = self.ref(weighted(self.rng, LEVELS))
        party.customer_source = self.ref(self.rng.choice(SOURCES))
        party.customer_status = weighted(self.rng, STATUSES)

    def create_customers(self, size, pools):
        from trytond.transaction import Transaction
        pool = self.pool
        Party = pool.get('party.party')
        CustomerContact = pool.get('crm.customer.contact')
        companies, individuals, _ = SIZES[size]
        made = ([self.make_company(pools) for _ in range(companies)]
            + [self.make_individual(pools) for _ in range(individuals)])
        self.rng.shuffle(made)
        customers = [c for c, _ in made]
        # Without a company in the context, the contact mechanisms do not
        # read the company addresses to parse each phone number (a third of
        # the time); the parties are not company-specific
        with Transaction().set_context(company=None, companies=[]):
            Party.save(customers + [p for _, cs in made for p, _, _ in cs])
        CustomerContact.save([
                CustomerContact(customer=customer, contact=contact,
                    position=position, primary=primary)
                for customer, contacts in made
                for contact, position, primary in contacts])
        return {c: [p for p, _, _ in cs] for c, cs in made}

    def assign_owners(self, size, customers, pools, employees):
        """Give most customers an owner; leave the others in their pool.

        The pool customers come first in the small set, so that the
        browser test finds claimable customers at the top of the list."""
        Party = self.pool.get('party.party')
        in_pool = round(len(customers) * SIZES[size][2])
        owned = {}
        ordered = list(customers)
        if size == 'small':
            ordered.sort(key=lambda c: c.name)
        logins = ['manager', 'sales1', 'sales1', 'sales2', 'sales2']
        unowned_deals = []
        for i, customer in enumerate(ordered):
            if i < in_pool:
                # Customers with a deal seldom return to the pool
                if customer.customer_status == 'deal':
                    unowned_deals.append(customer)
                continue
            if (customer.pool == pools['south']
                    and self.rng.random() < 0.5):
                login = self.rng.choice(['manager', 'sales2'])
            else:
                login = self.rng.choice(logins)
            owned.setdefault(login, []).append(customer)
        for login, parties in owned.items():
            Party.assign_to(parties, employees[login], reason='演示数据')
        # Vary how long the customers have been owned
        to_write = []
        for parties in owned.values():
            for party in parties:
                to_write.extend(([party], {
                            'owner_since': self.today - dt.timedelta(
                                days=self.rng.randrange(0, 90)),
                            'key_customer': (party.customer_level.id
                                == self.ref('customer_level_a').id),
                            }))
        if unowned_deals:
            to_write.extend((unowned_deals, {'customer_status': 'potential'}))
        Party.write(*to_write)
        return owned

    def release_some(self, customers, employees):
        "Claim and release a few pool customers, as their history"
        Party = self.pool.get('party.party')
        pooled = [c for c in customers if not c.owner]
        released = self.rng.sample(pooled, min(15, len(pooled) // 4))
        for party in released:
            login = self.rng.choice(['sales1', 'sales2'])
            Party.assign_to([party], employees[login])
        Party.release(released)
        for party in released:
            Party.write([party], {'released_date': self.today
                    - dt.timedelta(days=self.rng.randrange(1, 40))})

    def create_follow_ups(self, company, customers, employees):
        pool = self.pool
        FollowUp = pool.get('crm.follow_up')
        methods = {m: self.ref(m) for m in FOLLOW_UPS}
        follow_ups = []
        for customer, contacts in customers.items():
            owner = customer.owner
            count = (self.rng.choice([1, 2, 3, 3, 4, 5, 6]) if owner
                else self.rng.choice([0, 0, 1, 2]))
            days = sorted(self.rng.sample(range(60), count), reverse=True)
            for n, days_ago in enumerate(days):
                date = self.today - dt.timedelta(days=days_ago)
                method = self.rng.choice(list(FOLLOW_UPS))
                subject, content = self.rng.choice(FOLLOW_UPS[method])
                employee = owner or employees[
                    self.rng.choice(['sales1', 'sales2'])]
                if owner and owner.supervisor and self.rng.random() < 0.1:
                    employee = owner.supervisor
                if n == count - 1 and owner:
                    next_date = max(date, self.today
                        + dt.timedelta(days=self.rng.randrange(-5, 12)))
                else:
                    next_date = date + dt.timedelta(days=7)
                follow_ups.append(FollowUp(company=company, party=customer,
                        contact=self.rng.choice(contacts)
                        if contacts else None,
                        employee=employee, date=date,
                        method=methods[method], subject=subject,
                        content=content, next_contact_date=next_date))
        FollowUp.save(follow_ups)
        return follow_ups

    def create_plans(self, company, customers):
        Plan = self.pool.get('crm.plan')
        plans = []
        for customer, contacts in customers.items():
            if not customer.owner or self.rng.random() < 0.6:
                continue
            day = self.today + dt.timedelta(days=self.rng.randrange(1, 8))
            # Stored in UTC: 09:00 to 17:00 in Shanghai
            planned = dt.datetime.combine(day, dt.time(
                    self.rng.randrange(1, 9), self.rng.choice([0, 30])))
            subject, description = self.rng.choice(PLANS)
            plans.append(Plan(company=company, party=customer,
                    contact=contacts[0] if contacts else None,
                    employee=customer.owner, planned=planned,
                    method=self.ref(self.rng.choice(list(FOLLOW_UPS))),
                    subject=subject, description=description))
        Plan.save(plans)
        return plans

    def submit(self, records):
        "Submit the documents for approval, each by its requester"
        Document = type(records[0])
        for login, group in self.by_login(
                records, lambda r: r.get_approval_requester()):
            with self.acting_as(login):
                Document.submit(group)
        return Document.browse(records)

    def approve(self, records):
        """Approve the pending requests of the documents, step by step,
        each by its approver"""
        Request = self.pool.get('crm.approval.request')
        Document = type(records[0])
        while requests := [r.approval for r in Document.browse(records)
                if r.approval and r.approval.state == 'pending']:
            for login, group in self.by_login(
                    requests, lambda r: r.approver):
                with self.acting_as(login):
                    Request.approve(group, APPROVED)
        return Document.browse(records)

    def create_campaign(self, company, employees):
        Campaign = self.pool.get('crm.campaign')
        name, type_, budget, description, effect = CAMPAIGN
        with self.acting_as('manager'):
            campaign = Campaign(company=company, name=name,
                type=self.ref(type_), employee=employees['manager'],
                participants=[employees['sales1'], employees['sales2']],
                start_date=self.today - dt.timedelta(days=10),
                end_date=self.today + dt.timedelta(days=20),
                budget=budget, description=description,
                expected_effect=effect)
            campaign.save()
        campaign, = self.approve(self.submit([campaign]))
        with self.acting_as('manager'):
            Campaign.start([campaign])
        return campaign

    def create_expense(self, company, campaign, employees):
        "Request an expense for the campaign, left to the manager to approve"
        Expense = self.pool.get('crm.expense')
        name, type_, amount, description = EXPENSE
        with self.acting_as('sales1'):
            expense = Expense(company=company, name=name,
                employee=employees['sales1'], date=self.today,
                type=self.ref(type_), campaign=campaign,
                currency=company.currency, amount=Decimal(amount),
                description=description)
            expense.save()
        return self.submit([expense])

    def opportunity_states(self, customers):
        """Return the customers with the state of their opportunity: every
        state once, the others drawn by weight; those waiting for approval
        are the salespeople's, whose supervisor approves"""
        states = [s for s, _ in OPPORTUNITY_STATES]
        states += [weighted(self.rng, OPPORTUNITY_STATES)
            for _ in range(len(customers) - len(states))]
        self.rng.shuffle(states)
        states.sort(key=lambda s: s != 'waiting')
        supervised = sorted(customers, key=lambda c: not c.owner.supervisor)
        return list(zip(supervised, states))

    def create_opportunities(self, company, customers, campaign):
        """Give owned customers opportunities spread over the funnel, in
        every state; those to win are not at the last stage yet"""
        pool = self.pool
        Opportunity = pool.get('crm.opportunity')
        Stage = pool.get('crm.opportunity.stage')
        stages = Stage.search([])
        owned = [c for c in customers if c.owner]
        chosen = [c for c in owned if self.rng.random() < 0.45]
        while owned and len(chosen) < len(OPPORTUNITY_STATES):
            chosen.append(self.rng.choice(owned))
        opportunities, by_state = [], defaultdict(list)
        for customer, state in self.opportunity_states(chosen):
            contacts = customers[customer]
            name, (low, high) = self.rng.choice(OPPORTUNITIES)
            stage = self.rng.choice(stages[:-1] if state == 'won' else stages)
            start = self.today - dt.timedelta(days=self.rng.randrange(60))
            opportunity = Opportunity(company=company,
                name=name, party=customer,
                contact=contacts[0] if contacts else None,
                employee=customer.owner, source=customer.customer_source,
                campaign=campaign if self.rng.random() < 0.2 else None,
                amount=self.rng.randrange(low, high, 1000),
                start_date=start, stage=stage,
                probability=stage.probability,
                expected_date=self.today + dt.timedelta(
                    days=self.rng.randrange(-10, 90)))
            opportunities.append(opportunity)
            by_state[state].append(opportunity)
        for login, records in self.by_login(
                opportunities, lambda o: o.employee):
            with self.acting_as(login):
                Opportunity.save(records)
        self.submit([o for s, records in by_state.items() if s != 'draft'
                for o in records])
        self.approve([o for s, records in by_state.items()
                if s not in {'draft', 'waiting'} for o in records])
        self.close_opportunities(by_state, stages[-1])
        return opportunities

    def close_opportunities(self, by_state, last_stage):
        """Suspend, win and lose the opportunities as their owners: won
        ones reach the last stage first"""
        Opportunity = self.pool.get('crm.opportunity')
        by_state = {state: Opportunity.browse(records)
            for state, records in by_state.items()}
        for state, records in by_state.items():
            for login, group in self.by_login(records, lambda o: o.employee):
                with self.acting_as(login):
                    self.close_as_owner(state, group, last_stage)
        if by_state.get('suspended'):
            # Suspended until today: the first run of trytond-cron
            # reactivates it
            Opportunity.write(by_state['suspended'][:1],
                {'reactivation_date': self.today})

    def close_as_owner(self, state, opportunities, last_stage):
        Opportunity = self.pool.get('crm.opportunity')
        if state == 'suspended':
            Opportunity.set_suspended(opportunities,
                '客户预算冻结，下季度再议。',
                self.today + dt.timedelta(days=30))
        elif state == 'won':
            Opportunity.write(opportunities, {'stage': last_stage.id})
            Opportunity.win(opportunities)
        elif state == 'lost':
            for opportunity in opportunities:
                reason = self.ref(self.rng.choice(LOST_REASONS))
                Opportunity.set_lost(
                    [opportunity], reason, '客户选择了其他方案。')

    def create_leads(self, company, customers, campaign):
        """Create the leads as their owners (admin for those of every
        salesperson) and take them to their state"""
        Lead = self.pool.get('crm.lead')
        known = next(c for c in customers if c.owner)
        known_login = self.logins[known.owner.id]
        by_state = defaultdict(list)
        for (title, company_name, contact, domain, source, login,
                from_campaign, state) in LEADS:
            lead = Lead(company=company, name=title,
                source=self.ref(source),
                campaign=campaign if from_campaign else None)
            if company_name:
                lead.company_name = company_name
                lead.contact_name = contact
                lead.phone = self.mobile()
                lead.email = self.email('contact', f'{domain}.example.com')
            else:
                lead.party = known
                lead.contact = (customers[known] or [None])[0]
                login = known_login
            with self.acting_as(login or 'admin'):
                # The user's employee, as the client proposes
                lead.employee = Lead.default_employee()
                lead.save()
            by_state[state].append(lead)
        self.advance_leads(by_state)
        return [lead for leads in by_state.values() for lead in leads]

    def advance_leads(self, by_state):
        "Follow up, convert and invalidate the leads as their owners"
        pool = self.pool
        Lead = pool.get('crm.lead')
        FollowUp = pool.get('crm.follow_up')
        subject, content = LEAD_FOLLOW_UP
        for state, leads in by_state.items():
            for login, group in self.by_login(leads, lambda l: l.employee):
                with self.acting_as(login):
                    if state == 'following':
                        Lead.follow(group)
                        FollowUp.save([FollowUp(company=lead.company,
                                    lead=lead, employee=lead.employee,
                                    date=self.today,
                                    method=self.ref('follow_up_method_phone'),
                                    subject=subject, content=content)
                                for lead in Lead.browse(group)])
                    elif state == 'converted':
                        Lead.convert(group)
                    elif state == 'invalid':
                        Lead.invalidate(group)

    def create_targets(self, company, team):
        """Set the targets of the month: the company's won opportunities (by
        the CRM manager) and the team's follow-ups split per person (by
        the team leader); each value is what the pace so far would reach,
        and a bit more"""
        Target = self.pool.get('crm.target')
        first = self.today.replace(day=1)
        last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(1)
        pace = last.day / self.today.day
        period = dict(company=company, start_date=first, end_date=last,
            employee=None, value=Decimal(0))
        with self.acting_as('admin'):
            won = Target(name='本月赢单商机', kpi='won_opportunities',
                owner_type='company', **period)
            won.save()
            self.set_target_value(won, pace)
            Target.confirm([won])
        with self.acting_as('manager'):
            follow_ups = Target(name='华东销售一组本月跟进', kpi='follow_ups',
                owner_type='team', team=team, **period)
            follow_ups.save()
            self.set_target_value(follow_ups, pace)
            children = self.decompose(follow_ups, [m.id for m in team.members])
            Target.confirm(children + [follow_ups])
        self.create_target_notes(children)
        return [won, follow_ups] + children

    def set_target_value(self, target, pace):
        "Set the value to the completed one at the pace, plus 20 %"
        value = max(5, math.ceil(float(target.completed) * pace * 1.2 / 5) * 5)
        target.value = Decimal(value)
        target.save()

    def decompose(self, target, employee_ids):
        "Split the target per person with the decomposition wizard"
        from trytond.transaction import Transaction
        Decompose = self.pool.get('crm.target.decompose', type='wizard')
        session_id, _, _ = Decompose.create()
        with Transaction().set_context(active_model='crm.target',
                active_id=target.id, active_ids=[target.id]):
            Decompose.execute(session_id, {}, 'start')
            Decompose.execute(session_id, {'start': {
                        'method': 'person', 'employees': employee_ids}},
                'decompose')
        Decompose.delete(session_id)
        return list(type(target)(target.id).children)

    def create_target_notes(self, targets):
        "A progress note by each salesperson, a comment of the manager"
        Note = self.pool.get('crm.target.note')
        for target in targets:
            login = self.logins[target.employee.id]
            with self.acting_as(login):
                Note(target=target, kind='progress',
                    note='本周已电话回访重点客户，下周安排两次上门拜访。').save()
        with self.acting_as('manager'):
            Note(target=targets[0], kind='comment',
                note='进度不错，注意跟进展会带来的新线索。').save()

    def create_mail_gateway(self, company, team):
        """Create the sales inbox: its emails become leads, given to the
        members of the team in turn"""
        pool = self.pool
        Inbox = pool.get('inbound.email.inbox')
        Rule = pool.get('inbound.email.rule')
        Assignment = pool.get('crm.lead.assignment')
        with self.acting_as('admin'):
            inbox = Inbox(name=INBOX)
            inbox.save()
            Inbox.new_identifier([inbox])
            Rule(inbox=inbox, action='crm.lead|from_inbound_email',
                crm_company=company,
                crm_source=self.ref('customer_source_email')).save()
            Assignment(company=company, team=team).save()
        return inbox


def seed(database, size='full', seed=8):
    """Seed the database, as root, in one transaction.

    Like trytond's dispatcher, the transaction is restarted with the tables
    that the ORM asks to lock (Model.lock) locked from its start."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    lock_tables = ['crm_configuration', 'party_party', 'company_employee']
    for _ in range(20):
        try:
            with Transaction().start(database, 0, context={'language': 'en'},
                    _lock_tables=list(lock_tables)):
                return _seed(pool, size, random.Random(seed))
        except TransactionError as error:
            # A table or some of its records: lock the table
            print(f'[demo] Seeding again with {error._table} locked',
                flush=True)
            lock_tables.append(error._table)
    raise RuntimeError(f'Could not lock the tables: {lock_tables}')


def _seed(pool, size, rng):
    from trytond.transaction import Transaction
    transaction = Transaction()
    Date = pool.get('ir.date')
    seeder = Seeder(pool, rng, Date.today())
    company = seeder.create_company()
    with transaction.set_context(company=company.id,
            companies=[company.id]):
        employees = seeder.create_users(company)
        pools, team = seeder.configure(company, employees)
        customers = seeder.create_customers(size, pools)
        owned = seeder.assign_owners(size, customers, pools, employees)
        if size == 'full':
            seeder.release_some(seeder.reload(customers), employees)
        customers = seeder.reload(customers)
        follow_ups = seeder.create_follow_ups(
            company, customers, employees)
        plans = seeder.create_plans(company, customers)
        campaign = seeder.create_campaign(company, employees)
        opportunities = seeder.create_opportunities(
            company, customers, campaign)
        leads = seeder.create_leads(company, customers, campaign)
        seeder.create_expense(company, campaign, employees)
        targets = seeder.create_targets(company, team)
        seeder.create_mail_gateway(company, team)
    return {
        'customers': len(customers),
        'contacts': sum(len(c) for c in customers.values()),
        'owned': sum(len(p) for p in owned.values()),
        'follow-ups': len(follow_ups),
        'plans': len(plans),
        'opportunities': len(opportunities),
        'leads': len(leads),
        'targets': len(targets),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--size', choices=sorted(SIZES), default='full')
    parser.add_argument('--seed', type=int, default=8)
    options = parser.parse_args()

    from trytond import config
    config.update_etc(options.config)
    start = time.monotonic()
    counts = seed(options.database, options.size, options.seed)
    print('[demo] Seeded %s in %.1f s' % (
            ', '.join(f'{v} {k}' for k, v in counts.items()),
            time.monotonic() - start), flush=True)


if __name__ == '__main__':
    main()
