"""Packaging of the crm_plus Tryton modules.

One distribution exposes the four modules as top-level packages and
registers each as a ``trytond.modules`` entry point.
"""
from setuptools import find_packages, setup

MODULES = ['crm_plus', 'crm_plus_sale', 'crm_plus_service', 'crm_plus_finance']
SERIES = '>=8.0,<8.1'

setup(
    name='crm-plus',
    version='8.0.0',
    description="Bilingual CRM modules for Tryton",
    long_description=open('README.rst', encoding='utf-8').read(),
    python_requires='>=3.10',
    packages=find_packages(include=[m + '*' for m in MODULES]),
    package_data={
        m: ['tryton.cfg', '*.xml', 'view/*.xml', 'locale/*.po', 'icons/*.svg',
            'report/*', '*.rst', 'tests/*.rst', 'tests/*.json']
        for m in MODULES},
    install_requires=[
        'trytond' + SERIES,
        'trytond_company' + SERIES,
        'trytond_party' + SERIES,
        'trytond_product' + SERIES,
        'trytond_inbound_email' + SERIES,
        'trytond_marketing_email' + SERIES,
        'trytond_sale' + SERIES,
        'trytond_account_invoice' + SERIES,
        'trytond_account_payment' + SERIES,
        'icalendar',
        'phonenumbers',
        ],
    extras_require={
        'test': ['proteus' + SERIES, 'playwright'],
        'postgresql': ['trytond[postgresql]' + SERIES, 'psycopg[binary]'],
        'dev': ['ruff', 'isort'],
        # the mail sink of make demo
        'demo': ['aiosmtpd'],
        },
    entry_points={
        'trytond.modules': [f'{m} = {m}' for m in MODULES],
        },
    zip_safe=False,
    )
