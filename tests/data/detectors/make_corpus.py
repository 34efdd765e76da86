#!/usr/bin/env python3
"""Writes the detector corpora (one file per built-in detector).

Format of each file, one case per line:
  + text with [[the match]] in it     the detector must find exactly the marked span
  - text                              the detector must find nothing
  # comment
A literal \\n in a line stands for a newline. Check digits are computed here,
independently of the C validators, so a validator bug shows up as a failing
positive. Re-run after editing: python3 make_corpus.py
"""
import base64, os, zlib

OUT = os.path.dirname(os.path.abspath(__file__))

def luhn_digit(payload):
    s = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    return str((10 - s % 10) % 10)

def luhn(payload): return payload + luhn_digit(payload)

VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],
      [4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],
      [8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]
VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
      [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]
VINV = [0,4,3,2,1,5,6,7,8,9]
def verhoeff(payload):
    c = 0
    for i, ch in enumerate(reversed(payload)):
        c = VD[c][VP[(i + 1) % 8][int(ch)]]
    return payload + str(VINV[c])

def mod11_10(payload):
    p = 10
    for ch in payload:
        s = (int(ch) + p) % 10
        if s == 0: s = 10
        p = (2 * s) % 11
    c = 11 - p
    return payload + str(0 if c == 10 else c)

def iban(cc, bban):
    num = ''.join(str(int(ch, 36)) for ch in bban + cc + '00')
    return cc + '%02d' % (98 - int(num) % 97) + bban

def nhs(payload9):
    s = sum(int(d) * (10 - i) for i, d in enumerate(payload9))
    r = 11 - s % 11
    if r == 11: r = 0
    assert r != 10
    return payload9 + str(r)

def svnr(area, ddmmyy, letter, serial):
    digits = [int(c) for c in area + ddmmyy] + [int(c) for c in '%02d' % (ord(letter) - 64)] + [int(c) for c in serial]
    w = [2,1,2,5,7,1,2,1,2,1,2,1]
    s = sum((d * wi) // 10 + (d * wi) % 10 for d, wi in zip(digits, w))
    return area + ddmmyy + letter + serial + str(s % 10)

def nir(p13):
    n = int(p13.replace('2A', '19').replace('2B', '18'))
    return p13 + '%02d' % (97 - n % 97)

DNI = 'TRWAGMYFPDXBNJZSQVHLCKE'
def dni(n8): return n8 + DNI[int(n8) % 23]
def nie(p, n7): return p + n7 + DNI[int('XYZ'.index(p).__str__() + n7) % 23]

CF_ODD = dict(zip('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    [1,0,5,7,9,13,15,17,19,21,1,0,5,7,9,13,15,17,19,21,2,4,18,20,11,3,6,8,12,14,16,10,22,25,24,23]))
def cf(p15):
    s = 0
    for i, ch in enumerate(p15):
        if i % 2 == 0: s += CF_ODD[ch]
        else: s += int(ch) if ch.isdigit() else ord(ch) - 65
    return p15 + chr(65 + s % 26)

def bsn_ok(n): return (sum(int(d) * (9 - i) for i, d in enumerate(n[:8])) - int(n[8])) % 11 == 0

def pesel(p10):
    w = [1,3,7,9,1,3,7,9,1,3]
    s = sum(int(d) * wi for d, wi in zip(p10, w))
    return p10 + str((10 - s % 10) % 10)

def nip(p9):
    w = [6,5,7,2,3,4,5,6,7]
    c = sum(int(d) * wi for d, wi in zip(p9, w)) % 11
    assert c != 10
    return p9 + str(c)

def pt_nif(p8):
    c = 11 - sum(int(d) * (9 - i) for i, d in enumerate(p8)) % 11
    return p8 + str(0 if c >= 10 else c)

HETU = '0123456789ABCDEFHJKLMNPRSTUVWXY'
def hetu(ddmmyy, sign, zzz): return ddmmyy + sign + zzz + HETU[int(ddmmyy + zzz) % 31]

def fnr(p9):
    w1 = [3,7,6,1,8,9,4,5,2]; w2 = [5,4,3,2,7,6,5,4,3,2]
    k1 = 11 - sum(int(d) * w for d, w in zip(p9, w1)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10: return None
    p10 = p9 + str(k1)
    k2 = 11 - sum(int(d) * w for d, w in zip(p10, w2)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10: return None
    return p10 + str(k2)

def cpf(p9):
    d1 = sum(int(d) * (10 - i) for i, d in enumerate(p9)) * 10 % 11 % 10
    p10 = p9 + str(d1)
    d2 = sum(int(d) * (11 - i) for i, d in enumerate(p10)) * 10 % 11 % 10
    return p10 + str(d2)

def cnpj(p12):
    w1 = [5,4,3,2,9,8,7,6,5,4,3,2]; w2 = [6] + w1
    r = sum(int(d) * w for d, w in zip(p12, w1)) % 11
    p13 = p12 + str(0 if r < 2 else 11 - r)
    r = sum(int(d) * w for d, w in zip(p13, w2)) % 11
    return p13 + str(0 if r < 2 else 11 - r)

def nrn(p9, y2000=False):
    n = int(('2' if y2000 else '') + p9)
    return p9 + '%02d' % (97 - n % 97)

def cnid(p17):
    w = [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
    return p17 + '10X98765432'[sum(int(d) * wi for d, wi in zip(p17, w)) % 11]

def nric(pfx, d7):
    w = [2,7,6,5,4,3,2]
    s = sum(int(d) * wi for d, wi in zip(d7, w)) + (4 if pfx in 'TG' else 0)
    tab = 'JZIHGFEDCBA' if pfx in 'ST' else 'XWUTRQPNMLK'
    return pfx + d7 + tab[s % 11]

def tfn_ok(n): return sum(int(d) * w for d, w in zip(n, [1,4,3,7,5,8,6,9,10])) % 11 == 0

def medicare(p8, issue='1'):
    s = sum(int(d) * w for d, w in zip(p8, [1,3,7,9,1,3,7,9]))
    return p8 + str(s % 10) + issue

def ean13(p12):
    s = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(p12))
    return p12 + str((10 - s % 10) % 10)

def pps(d7, second=''):
    s = sum(int(d) * (8 - i) for i, d in enumerate(d7))
    if second and second != 'W': s += (ord(second) - 64) * 9
    r = s % 23
    return d7 + ('W' if r == 0 else chr(64 + r)) + second

def aba_ok(n):
    d = [int(c) for c in n]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0

VIN_T = dict(zip('ABCDEFGHJKLMNPRSTUVWXYZ', [1,2,3,4,5,6,7,8,1,2,3,4,5,7,9,2,3,4,5,6,7,8,9]))
def vin(v16_with_placeholder):
    w = [8,7,6,5,4,3,2,10,0,9,8,7,6,5,4,3,2]
    v = v16_with_placeholder
    s = sum((int(c) if c.isdigit() else VIN_T[c]) * wi for c, wi in zip(v, w) if c != '_')
    r = s % 11
    return v.replace('_', 'X' if r == 10 else str(r))

B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
def b62(n, width=6):
    s = ''
    while n: s = B62[n % 62] + s; n //= 62
    return s.rjust(width, '0')
def ghtok(prefix, body30): return prefix + body30 + b62(zlib.crc32(body30.encode()))

def dea(letters, d6):
    a = int(d6[0]) + int(d6[2]) + int(d6[4]); b = int(d6[1]) + int(d6[3]) + int(d6[5])
    return letters + d6 + str((a + 2 * b) % 10)

def npi(p9):
    return p9 + luhn_digit('80840' + p9)

def group(s, sizes, sep=' '):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n]); i += n
    return sep.join(out)

def find_valid(gen, start, count=1, step=1):
    out, n = [], start
    while len(out) < count:
        v = gen(n)
        if v: out.append(v)
        n += step
    return out

C = {}

cards = [luhn('411111111111111'), luhn('401288888888188'), luhn('37828224631000'),
         luhn('555555555555444'), luhn('601111111111111'), luhn('353011133330000'),
         luhn('3056930902590'), luhn('220000000000000'), luhn('620000000000000'),
         luhn('411111111111111111'), luhn('222100000000000')]
C['credit_card'] = [
    '+ card [[4222222222222]]',
    '- ean 4222222222222',
    '+ paid with [[%s]] today' % group(cards[0], [4, 4, 4, 4]),
    '+ card=[[%s]]' % cards[1],
    '+ amex [[%s]] ok' % group(cards[2], [4, 6, 5]),
    '+ mc [[%s]]' % group(cards[3], [4, 4, 4, 4], '-'),
    '+ discover [[%s]]' % cards[4],
    '+ jcb:[[%s]]' % cards[5],
    '+ diners [[%s]]' % cards[6],
    '+ mir [[%s]]' % cards[7],
    '+ unionpay [[%s]]' % cards[8],
    '+ visa19 [[%s]]' % cards[9],
    '+ mc2 [[%s]]' % cards[10],
    '- epoch ms 1700000000000 and 1730000000123',
    '- nanos 1730000000000000000',
    '- order %s' % (cards[0][:-1] + str((int(cards[0][-1]) + 1) % 10)),
    '- id %s' % luhn('123456781234567'),
    '- short 4111 1111',
    '- %s 1111 1111' % group(cards[0], [4, 4, 4, 4]),
    '- x%s' % cards[0],
    '- 4111-1111 1111-1111',
    '- uuid 550e8400-e29b-41d4-a716-446655440000',
    '- zeros 0000 0000 0000 0000',
    '- visa wrong length %s' % luhn('41111111111111'),
]

ibans = [iban('DE', '370400440532013000'), iban('GB', 'WEST12345698765432'),
         iban('FR', '20041010050500013M02606'), iban('NL', 'ABNA0417164300'),
         iban('CH', '00762011623852957'), iban('NO', '86011117947')]
C['iban'] = [
    '+ pay to [[%s]]' % ibans[0],
    '+ iban: [[%s]] ref' % group(ibans[0], [4, 4, 4, 4, 4, 2]),
    '+ [[%s]]' % ibans[1],
    '+ FR account [[%s]]' % ibans[2],
    '+ [[%s]],' % ibans[3],
    '+ ch [[%s]]' % ibans[4],
    '+ no [[%s]]' % ibans[5],
    '- %s' % (ibans[0][:-1] + '1'),
    '- %s' % ibans[0][:-1],
    '- XX89370400440532013000',
    '- %s' % ibans[0].lower(),
    '- DE89 3704 0044 0532 0130 0',
    '- DEBUG12345 is not an account',
]

abas = [n for n in ['021000021', '011000015', '121000358', '026009593'] if aba_ok(n)]
assert len(abas) == 4
C['aba_routing'] = [
    '+ routing number [[%s]]' % abas[0],
    '+ ABA: [[%s]]' % abas[1],
    '+ rtn=[[%s]]' % abas[2],
    '+ transit/routing [[%s]]' % abas[3],
    '- routing number 021000022',
    '- plain 021000021 without context',
    '- routing 991000021',
    '- routing 0210000210',
]

C['swift_bic'] = [
    '+ SWIFT [[DEUTDEFF]]',
    '+ bic: [[COBADEFFXXX]]',
    '+ swift code [[BNPAFRPP]] please',
    '- DEUTDEFF without a keyword',
    '- swift DEUTXXFF',
    '- swift DEUTDEF',
    '- swift deutdeff',
]

C['email'] = [
    '+ contact [[jane.doe@example.com]] now',
    '+ <[[a.b+tag@mail.example.co.uk]]>',
    '+ mailto:[[ops@example.org]]',
    '+ [[Bob_Smith99@Example.DE]] wrote',
    '+ list: [[x@y.io]], [[z@y.io]]'.replace('[[z@y.io]]', 'z@y.io').replace(', z@y.io', ''),
    '- icon@2x.png and logo@3x.svg',
    '- user@localhost',
    '- @example.com',
    '- foo@bar',
    '- a@b.c',
    '- npm install pkg@1.2.3',
    '- name@123.456',
]

C['phone_e164'] = [
    '+ call [[+49 30 1234567]]',
    '+ [[+1 (212) 555-0199]] ext',
    '+ tel:[[+442071838750]]',
    '+ [[+33 6 12 34 56 78]]',
    '+ [[+91-98765-43210]].',
    '- +0049 30 1234567',
    '- +1 555',
    '- a+4930123456',
    '- +28 1234 5678',
    '- tz +01:00 and +0100',
]

C['phone_national'] = [
    '+ tel [[(212) 555-0199]]',
    '+ [[212-555-0199]]',
    '+ [[212.555.0199]] or',
    '+ [[06 12 34 56 78]]',
    '+ [[07700 900123]]',
    '+ phone [[030 12345678]]',
    '+ mobile [[2125550199]]',
    '- 2024-01-15',
    '- 212-555-019',
    '- id 012-555-0199',
    '- 2125550199 without context',
    '- version 1.212.555.0199',
    '- (212) 055-0199',
    # keywords are words: "tel" is not in "otel", "hotel" or "telemetry"
    '+ userTel [[2125550199]]',
    '+ phone_number=[[2125550199]]',
    '+ TEL: [[2125550199]]',
    '- otel.duration_ns 2125550199',
    '- hotel 2125550199',
    '- telemetry 2125550199',
    # other countries' national formats, judged by libphonenumber (no site
    # region here: a keyword is needed)
    '+ Telefon [[(0174) 1234567]]',
    '+ tel [[073-123 45 67]]',
    '+ phone: [[612 345 678]]',
    '+ tel. [[512 345 678]]',
    '+ cell [[312 345 6789]]',
    '+ mobile=[[0174/1234567]]',
    '- (0174) 1234567',
    '- 073-123 45 67',
    '- phone 0000 000000',
    '- phone 0000 0000000',
]

C['ipv4'] = [
    '+ from [[203.0.113.42]]',
    '+ [[10.1.2.3]]:8080',
    '+ ip=[[192.168.0.1]]',
    '+ dns [[8.8.8.8]]',
    '- version 1.2.3',
    '- 999.1.1.1',
    '- 1.2.3.4.5',
    '- v1.2.3.4',
    '- 0.0.0.0',
    '- 127.0.0.1',
    '- 255.255.255.0',
    '- 01.2.3.4',
    # versions shaped like addresses
    '- Mozilla/5.0 (X11) Chrome/121.4.33.7 Safari/537.36',
    '- firmware 3.10.2.14',
    '- version: 10.1.2.3',
    '- v 1.2.3.4',
    '- Chrome 121.4.33.7',
    '+ /clients/[[10.1.2.3]]/status',
    '+ from [[10.1.2.3]] 42 requests',
    '+ upstream=[[10.1.2.3]]',
]

C['ipv6'] = [
    '+ [[2001:db8::1]]',
    '+ client [[2001:0db8:85a3:0000:0000:8a2e:0370:7334]]',
    '+ [[fe80::1ff:fe23:4567:890a]]',
    '+ addr=[[::ffff:192.0.2.128]]',
    '- ::1',
    '- listening on ::',
    '- 12:34:56',
    '- 00:1a:2b:3c:4d:5e',
    '- std::vector',
    '- 1:2:3:4:5:6:7:8:9',
]

C['mac_address'] = [
    '+ [[00:1A:2B:3C:4D:5E]]',
    '+ mac=[[00-1a-2b-3c-4d-5e]]',
    '+ [[001a.2b3c.4d5e]]',
    '- 00:00:00:00:00:00',
    '- ff:ff:ff:ff:ff:ff',
    '- 00:1A:2B:3C:4D',
    '- 00:1A:2B-3C:4D:5E',
    '- 00:1A:2B:3C:4D:5E:6F',
]

C['url_credentials'] = [
    '+ postgres://[[app:s3cret]]@db.example.com:5432/shop',
    '+ https://[[user:pa%40ss]]@example.com/',
    '+ ftp://[[anon:guest]]@ftp.example.org',
    '+ https://[[:ghp_token]]@github.com/x',
    '- https://example.com/a@b',
    '- https://user@example.com/',
    '- postgres://app:@db/x',
    '- mailto:a@b.c',
]

C['imei'] = [
    '+ imei [[490154203237518]]',
    '+ device [[%s]]' % group(luhn('35209900176148'), [2, 6, 6, 1], '-'),
    '+ [[%s]]' % group(luhn('35209900176148'), [2, 6, 6, 1], ' '),
    '- imei 490154203237519',
    '- imei %s' % luhn('12345678901234'),
    '- 490154203237518 alone',
]

vins = ['1M8GDM9AXKP042788', vin('5YJ3E1EA_JF000316'), vin('WVWZZZ1K_8W012345')]
C['vin'] = [
    '+ vin [[%s]]' % vins[0],
    '+ [[%s]]' % vins[1],
    '+ car [[%s]].' % vins[2],
    '- 1M8GDM9A1KP042788',
    '- 1M8GDM9AXKP04278',
    '- 1M8GDM9AXKP042788A',
    '- IM8GDM9AXKP042788',
    '- 11111111111111111',
]

C['date_of_birth'] = [
    '+ dob [[1985-03-12]]',
    '+ born [[12.03.1985]] in Lyon',
    '+ birth date: [[03/12/1985]]',
    '+ Geburtsdatum [[29.02.1988]]',
    '- 2024-01-15T10:00:00Z',
    '- dob 1985-02-30',
    '- dob 1899-01-01',
    '- born 2040-01-01',
]

C['sql_literal'] = [
    "+ WHERE email = [['bob@example.com']]",
    '+ id = [[42]]',
    '+ price > [[19.99]]',
    "+ name = [['O''Brien']]",
    '+ x = [[0x1F]]',
    '- SELECT $1',
    '- WHERE id = :id',
    '- SELECT t1.col FROM table_2',
    '- LIMIT ?',
]

C['us_ssn'] = [
    '+ ssn [[536-22-1834]]',
    '+ [[078-05-1121]]',
    '+ SSN: [[536221834]]',
    '+ social security [[536 22 1834]]',
    '- 000-12-3456',
    '- 666-12-3456',
    '- 912-34-5678',
    '- 536-00-1834',
    '- 536-22-0000',
    '- 078-05-1120',
    '- 536221834 alone',
    '- 536-22-18345',
]

C['us_itin'] = [
    '+ [[912-70-1234]]',
    '+ ITIN [[987654321]]',
    '+ [[900-88-1234]]',
    '- 912-69-1234',
    '- 912-93-1234',
    '- 812-70-1234',
    '- 987654321 alone',
]

npis = [npi('123456789'), npi('198765432')]
C['us_npi'] = [
    '+ NPI [[%s]]' % npis[0],
    '+ provider npi=[[%s]]' % npis[1],
    '+ prescriber [[%s]]' % npi('212345678'),
    '- NPI %s' % (npis[0][:-1] + str((int(npis[0][-1]) + 1) % 10)),
    '- %s alone' % npis[0],
    '- NPI 3%s' % npis[0][1:],
]

C['us_dea'] = [
    '+ DEA [[%s]]' % dea('AB', '123456'),
    '+ dea registration [[%s]]' % dea('FM', '987654'),
    '+ prescriber [[%s]]' % dea('B9', '240011'),
    '- DEA AB1234567',
    '- DEA IB1234563',
    '- %s alone' % dea('AB', '123456'),
]

C['us_mbi'] = [
    '+ [[1EG4-TE5-MK73]]',
    '+ mbi [[1EG4TE5MK73]]',
    '+ member [[9AA0AA0AA00]]',
    '- 1EG4-TE5-MK7',
    '- 0EG4TE5MK73',
    '- 1SG4TE5MK73',
    '- 1EG4TE5MK7A',
]

nhss = [nhs('943476591'), nhs('401023213'), nhs('485777345')]

def nhs_or_none(p9):
    try: return nhs(p9)
    except AssertionError: return None

# two valid CHI numbers (real dates), and one whose date is impossible (day 00)
chis = find_valid(lambda n: nhs_or_none('150385' + '%03d' % n), 100, 2, 7) + \
    find_valid(lambda n: nhs_or_none('001385' + '%03d' % n), 100)
C['uk_nhs'] = [
    '+ [[%s]]' % group(nhss[0], [3, 3, 4]),
    '+ NHS [[%s]]' % nhss[0],
    '+ [[%s]]' % group(nhss[1], [3, 3, 4], '-'),
    '+ nhs number: [[%s]]' % nhss[2],
    '- %s' % group(nhss[0][:-1] + str((int(nhss[0][-1]) + 1) % 10), [3, 3, 4]),
    '- %s alone' % nhss[0],
    '- %s' % group('1' + nhss[0][1:], [3, 3, 4]),
    # Scottish CHI: DDMMYY + 4 with the NHS check digit, only next to a label
    '+ CHI number [[%s]]' % chis[0],
    '+ nhs number: [[%s]]' % group(chis[1], [3, 3, 4]),
    '- %s' % chis[0],
    '- CHI %s' % chis[2],
    '- ref %s' % group(chis[1], [3, 3, 4]),
]

C['uk_nino'] = [
    '+ [[AB123456C]]',
    '+ NI [[JG 10 37 59 A]]',
    '+ nino=[[CE123456D]]',
    '- AB123456E',
    '- DA123456C',
    '- GB123456A',
    '- AB12345C',
    '- AO123456C',
]

def de_tax_gen(n):
    p = '%010d' % n
    if p[0] == '0': return None
    counts = [p.count(c) for c in set(p)]
    if sorted(counts, reverse=True)[0] not in (2, 3) or sum(1 for c in counts if c >= 2) != 1: return None
    return mod11_10(p)
taxes = find_valid(de_tax_gen, 6592997048, 3, 7919)
C['de_tax_id'] = [
    '+ Steuer-IdNr [[%s]]' % taxes[0],
    '+ tax id [[%s]]' % group(taxes[1], [2, 3, 3, 3]),
    '+ idnr: [[%s]]' % taxes[2],
    '- Steuer-IdNr %s' % (taxes[0][:-1] + str((int(taxes[0][-1]) + 1) % 10)),
    '- %s alone' % taxes[0],
    '- steuer %s' % mod11_10('1234567890'),
]

svs = [svnr('65', '170839', 'J', '00'), svnr('12', '010190', 'M', '12'), svnr('15', '241285', 'A', '56')]
C['de_svnr'] = [
    '+ [[%s]]' % svs[0],
    '+ RVNR [[%s %s %s %s]]' % (svs[1][:2], svs[1][2:8], svs[1][8], svs[1][9:]),
    '+ [[%s]]' % svs[2],
    '- %s' % (svs[0][:-1] + str((int(svs[0][-1]) + 1) % 10)),
    '- 65171339J003',
    '- 651708391003',
]

nirs = [nir('1850578006084'), nir('2690549588157'), nir('18505' + '2A' + '006084')]
C['fr_nir'] = [
    '+ NIR [[%s]]' % nirs[0],
    '+ [[%s]]' % group(nirs[1], [1, 2, 2, 2, 3, 3, 2]),
    '+ corse [[%s]]' % nirs[2],
    '- %s' % (nirs[0][:-2] + '%02d' % ((int(nirs[0][-2:]) + 1) % 97)),
    '- %s' % ('5' + nirs[0][1:]),
    '- %s' % nir('1851378006084'),
]

C['es_dni'] = [
    '+ DNI [[%s]]' % dni('12345678'),
    '+ [[%s-%s]]' % (dni('87654321')[:8], dni('87654321')[8]),
    '+ nif [[%s]]' % dni('00000023'),
    '- 12345678A',
    '- 1234567Z',
    '- 123456789Z',
]

nies = [nie('X', '1234567'), nie('Y', '7654321'), nie('Z', '0000001')]
C['es_nie'] = [
    '+ NIE [[%s]]' % nies[0],
    '+ [[%s-%s-%s]]' % (nies[1][0], nies[1][1:8], nies[1][8]),
    '+ [[%s]]' % nies[2],
    '- X1234567A' if nies[0][-1] != 'A' else '- X1234567B',
    '- W1234567L',
    '- X123456L',
]

cfs = ['RSSMRA85T10A562S', cf('MRTMTT25D09F205'), cf('BNCGPP70A41H501')]
C['it_codice_fiscale'] = [
    '+ CF [[%s]]' % cfs[0],
    '+ [[%s]]' % cfs[1],
    '+ codice fiscale [[%s]]' % cfs[2].lower(),
    '- RSSMRA85T10A562T',
    '- RSSMRA85Z10A562S',
    '- RSSMRA85T10A562',
]

bsns = [n for n in ['111222333', '123456782', '999999990'] if bsn_ok(n)]
assert len(bsns) == 3
C['nl_bsn'] = [
    '+ BSN [[%s]]' % bsns[0],
    '+ bsn: [[%s]]' % bsns[1],
    '+ burgerservicenummer [[%s]]' % bsns[2],
    '- BSN 123456789',
    '- 111222333 alone',
    '- BSN 11122233',
]

pesels = [pesel('4405140135'), pesel('0207080362'), pesel('9012251234')]
C['pl_pesel'] = [
    '+ PESEL [[%s]]' % pesels[0],
    '+ pesel: [[%s]]' % pesels[1],
    '+ PESEL [[%s]]' % pesels[2],
    '- PESEL %s' % (pesels[0][:-1] + str((int(pesels[0][-1]) + 1) % 10)),
    '- PESEL %s' % pesel('4413140135'),
    '- %s alone' % pesels[0],
]

def nip_gen(n):
    try: return nip('%09d' % n)
    except AssertionError: return None
nips = find_valid(nip_gen, 123456321, 2, 1)
nip2 = find_valid(nip_gen, 526025027, 1, 1)[0]
C['pl_nip'] = [
    '+ NIP [[%s]]' % group(nips[0], [3, 3, 2, 2], '-'),
    '+ nip [[%s]]' % nip2,
    '+ VAT [[%s]]' % group(nips[1], [3, 2, 2, 3], '-'),
    '- NIP %s' % (nip2[:-1] + str((int(nip2[-1]) + 1) % 10)),
    '- %s alone' % nip2,
    '- NIP 123-456-32-1',
]

C['pt_nif'] = [
    '+ NIF [[%s]]' % pt_nif('12345678'),
    '+ contribuinte [[%s]]' % pt_nif('50144260'),
    '+ nif: [[%s]]' % pt_nif('23456789'),
    '- NIF 123456788',
    '- NIF %s' % pt_nif('42345678'),
    '- %s alone' % pt_nif('12345678'),
]

def se(yymmdd, nnn): return yymmdd + nnn + luhn_digit(yymmdd + nnn)
ses = [se('811218', '987'), se('640823', '323'), se('850709', '980')]
C['se_personnummer'] = [
    '+ [[%s-%s]]' % (ses[0][:6], ses[0][6:]),
    '+ pnr [[19%s-%s]]' % (ses[1][:6], ses[1][6:]),
    '+ personnummer [[%s]]' % ses[2],
    '+ [[%s+%s]]' % (ses[2][:6], ses[2][6:]),
    '- %s-%s' % (ses[0][:6], ses[0][6:9] + str((int(ses[0][9]) + 1) % 10)),
    '- %s-%s' % ('811318', ses[0][6:]),
    '- %s alone' % ses[2],
]

def hetu_or_none(ddmmyy, sign, zzz):
    v = hetu(ddmmyy, sign, zzz)
    return v if v[-1].isdigit() else None

hetu_digit = find_valid(lambda n: hetu_or_none('131052', '-', '%03d' % n), 300) + \
    find_valid(lambda n: hetu_or_none('010105', 'A', '%03d' % n), 200)
C['fi_hetu'] = [
    '+ [[131052-308T]]',
    '+ HETU [[%s]]' % hetu('010101', 'A', '123'),
    '+ [[%s]]' % hetu('311299', 'Y', '901'),
    '- 131052-308U',
    '- 131352-308T',
    '- 131052Q308T',
    # a digit check character (about a third of real numbers)
    '+ [[%s]]' % hetu_digit[0],
    '+ HETU: [[%s]]' % hetu_digit[1],
    '- %s' % (hetu_digit[0][:-1] + str((int(hetu_digit[0][-1]) + 1) % 10)),
    '- 12%s' % hetu_digit[0],
]

fnrs = find_valid(lambda n: fnr('010190' + '%03d' % n), 123, 3, 17)
C['no_fnr'] = [
    '+ fodselsnummer [[%s]]' % fnrs[0],
    '+ fnr: [[%s]]' % fnrs[1],
    '+ fødselsnummer [[%s %s]]' % (fnrs[2][:6], fnrs[2][6:]),
    '- fnr %s' % (fnrs[0][:-1] + str((int(fnrs[0][-1]) + 1) % 10)),
    '- %s alone' % fnrs[0],
    '- fnr 32019012345',
]

C['dk_cpr'] = [
    '+ CPR [[010190-1234]]',
    '+ cpr-nr [[2904871234]]',
    '+ CPR: [[311299-4321]]',
    '- CPR 320190-1234',
    '- CPR 011390-1234',
    '- 010190-1234 alone',
]

aad = [verhoeff('23456789012'), verhoeff('98765432101'), verhoeff('49995000123')]
C['in_aadhaar'] = [
    '+ [[%s]]' % group(aad[0], [4, 4, 4]),
    '+ aadhaar [[%s]]' % aad[1],
    '+ UID: [[%s]]' % group(aad[2], [4, 4, 4], '-'),
    '- %s' % group(aad[0][:-1] + str((int(aad[0][-1]) + 1) % 10), [4, 4, 4]),
    '- %s' % group(verhoeff('13456789012'), [4, 4, 4]),
    '- %s alone' % aad[1],
    # never inside a longer digit group: 16 digits in groups of 4
    '- card %s 1234' % group(aad[0], [4, 4, 4]),
    '- 9%s' % aad[1],
]

C['in_pan'] = [
    '+ PAN [[ABCPE1234F]]',
    '+ [[AAAPL1234C]]',
    '+ pan=[[BNZPM2501G]]',
    '- ABCDE1234F',
    '- ABCPE12345',
    '- abcpe1234f',
]

cpfs = ['11144477735', cpf('529982247'), cpf('123456789')]
C['br_cpf'] = [
    '+ [[111.444.777-35]]',
    '+ CPF [[%s]]' % cpfs[1],
    '+ [[%s.%s.%s-%s]]' % (cpfs[2][:3], cpfs[2][3:6], cpfs[2][6:9], cpfs[2][9:]),
    '- 111.444.777-36',
    '- 111.111.111-11',
    '- 11144477735 alone',
]

cnpjs = ['11222333000181', cnpj('112223330002'), cnpj('450612340001')]
C['br_cnpj'] = [
    '+ [[11.222.333/0001-81]]',
    '+ CNPJ [[%s]]' % cnpjs[1],
    '+ cnpj: [[%s]]' % cnpjs[2],
    '- 11.222.333/0001-82',
    '- 11222333000181 alone',
    '- 00.000.000/0000-00',
]

sins = ['046454286', luhn('13000000'), luhn('72346599')]
C['ca_sin'] = [
    '+ [[046 454 286]]',
    '+ SIN [[%s]]' % sins[1],
    '+ [[%s]]' % group(sins[2], [3, 3, 3], '-'),
    '- 046 454 287',
    '- %s' % group(luhn('84645428'), [3, 3, 3]),
    '- 046454286 alone',
]

nrns = [nrn('850730033'), nrn('930212145'), nrn('010203345', True)]
C['be_nrn'] = [
    '+ [[%s.%s.%s-%s.%s]]' % (nrns[0][:2], nrns[0][2:4], nrns[0][4:6], nrns[0][6:9], nrns[0][9:]),
    '+ rijksregister [[%s]]' % nrns[1],
    '+ NRN [[%s]]' % nrns[2],
    '- %s.%s.%s-%s.%s' % (nrns[0][:2], nrns[0][2:4], nrns[0][4:6], nrns[0][6:9], '%02d' % ((int(nrns[0][9:]) + 1) % 97)),
    '- %s alone' % nrns[1],
    '- NRN 85.13.30-033.28',
]

cnids = ['11010519491231002X', cnid('44030419800101123'), cnid('31011520001231456')]
C['cn_resident_id'] = [
    '+ [[%s]]' % cnids[0],
    '+ ID [[%s]]' % cnids[1],
    '+ [[%s]]' % cnids[2],
    '- 110105194912310021',
    '- %s' % cnid('11010519491331002'),
    '- %s' % cnid('91010519491231002'),
]

C['sg_nric'] = [
    '+ NRIC [[%s]]' % nric('S', '1234567'),
    '+ [[%s]]' % nric('T', '1234567'),
    '+ FIN [[%s]]' % nric('F', '7654321'),
    '+ [[%s]]' % nric('G', '1111111'),
    '- S1234567A' if nric('S', '1234567')[-1] != 'A' else '- S1234567B',
    '- X1234567D',
    '- S123456D',
]

tfns = [n for n in ['123456782', '876543210', '459599230'] if tfn_ok(n)]
tfns += find_valid(lambda n: ('%09d' % n) if tfn_ok('%09d' % n) else None, 100000001, 3 - len(tfns), 1)
C['au_tfn'] = [
    '+ TFN [[%s]]' % group(tfns[0], [3, 3, 3]),
    '+ tax file number [[%s]]' % tfns[1],
    '+ tfn: [[%s]]' % tfns[2],
    '- TFN 123 456 789',
    '- %s alone' % tfns[0],
    '- TFN 12345678',
]

meds = [medicare('21234567'), medicare('41234567', '2'), medicare('30000000')]
C['au_medicare'] = [
    '+ [[%s]]' % group(meds[0], [4, 5, 1]),
    '+ medicare [[%s]]' % meds[1],
    '+ Medicare no. [[%s]]' % meds[2],
    '- %s' % group(meds[0][:8] + str((int(meds[0][8]) + 1) % 10) + meds[0][9], [4, 5, 1]),
    '- %s' % group('7' + meds[0][1:], [4, 5, 1]),
    '- %s alone' % meds[1],
]

ahvs = ['7561234567897', ean13('756921707698'), ean13('756000000000')]
C['ch_ahv'] = [
    '+ AHV [[756.1234.5678.97]]',
    '+ [[%s]]' % ahvs[1],
    '+ AVS [[%s.%s.%s.%s]]' % (ahvs[2][:3], ahvs[2][3:7], ahvs[2][7:11], ahvs[2][11:]),
    '- 756.1234.5678.98',
    '- %s' % ean13('757123456789'),
    '- 756.1234.5678.9',
]

C['ie_pps'] = [
    '+ PPS [[%s]]' % pps('1234567'),
    '+ [[%s]]' % pps('7654321', 'W'),
    '+ ppsn [[%s]]' % pps('1111111', 'A'),
    '- 1234567%s' % ('A' if pps('1234567')[-1] != 'A' else 'B'),
    '- 123456T',
    '- 12345678T',
]

C['icd10'] = [
    '+ diagnosis [[E11.9]]',
    '+ ICD-10 [[J45.909]]',
    '+ dx: [[I10]]',
    '- E11.9 alone',
    '- diagnosis U07.1',
    '- diagnosis E1',
]

C['aws_access_key_id'] = [
    '+ [[AKIAIOSFODNN7EXAMPLE]]',
    '+ key=[[ASIAY34FZKBOKMUTVV7A]]',
    '+ "[[AKIA2E0A8F3B244C9986]]"'.replace('2E0A8F3B244C9986', 'ZEQAXF3BXZ4CQ7XX'),
    '- AKIAIOSFODNN7EXAMPL',
    '- AKIAiosfodnn7example',
    '- AKIA1OSFODNN7EXAMPLE',
    '- AKIAIOSFODNN7EXAMPLEX',
]

C['aws_secret_key'] = [
    '+ aws_secret_access_key = [[wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY]]',
    '+ AWS secret: [[je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY]]',
    '- wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY without context',
    '- aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE',
    '+ secret_access_key: "[[abcdEFGHijklMNOPqrstUVWXyz0123456789+/ab]]"',
    '- aws_secret wJalrXUtnFEMI-K7MDENG_bPxRfiCYEXAMPLEKEY',
]

ghs = [ghtok('ghp_', 'x7Kq9Lm2Np4Rs6Tv8Wy0Za1Bc3De5F'), ghtok('gho_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5'),
       ghtok('ghs_', '000000000000000000000000000000')]
bad_gh = ghs[0][:-1] + ('A' if ghs[0][-1] != 'A' else 'B')
C['github_token'] = [
    '+ [[%s]]' % ghs[0],
    '+ oauth [[%s]]' % ghs[1],
    '+ app [[%s]]' % ghs[2],
    '+ token [[%s]]' % bad_gh,
    '+ [[github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456]]',
    '- %s with a bad checksum and no context' % bad_gh,
    '- ghx_x7Kq9Lm2Np4Rs6Tv8Wy0Za1Bc3De5F000000',
    '- ghp_short',
]

C['gitlab_token'] = [
    '+ [[glpat-xYz12345678901234567]]',
    '+ PRIVATE-TOKEN: [[glpat-AbCdEfGhIjKlMnOpQrSt]]',
    '- glpat-short',
    '- glpatxYz12345678901234567',
    '+ [[glpat-0123456789abcdefghij_-]]',
    '- GLPAT-xYz12345678901234567',
]

C['npm_token'] = [
    '+ [[npm_abcdefghijklmnopqrstuvwxyz0123456789]]',
    '+ //registry.npmjs.org/:_authToken=[[npm_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]]',
    '- npm_abcdef',
    '- npm_abcdefghijklmnopqrstuvwxyz01234567890',
    '+ token: [[npm_0000000000aaaaaaaaaaBBBBBBBBBBcccccc]]',
    '- NPM_abcdefghijklmnopqrstuvwxyz0123456789',
]

jwt1 = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
hdr = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip('=')
jwt2 = hdr + '.' + base64.urlsafe_b64encode(b'{"sub":"42"}').decode().rstrip('=') + '.'
notjwt = base64.urlsafe_b64encode(b'{"hello":"world"}').decode().rstrip('=') + '.abcdef.ghijkl'
C['jwt'] = [
    '+ [[%s]]' % jwt1,
    '+ GET /callback?id_token=[[%s]]&x=1' % jwt1,
    '+ unsigned [[%s]]' % jwt2,
    '- eyJhbGciOiJIUzI1NiJ9',
    '- %s' % notjwt,
    '- eyJfoo.eyJbar',
]

C['pem_private_key'] = [
    '+ [[-----BEGIN RSA PRIVATE KEY-----\\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\\n-----END RSA PRIVATE KEY-----]]',
    '+ key: [[-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIHh\\n-----END PRIVATE KEY-----]] done',
    '+ [[-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA]]',
    '+ [[-----BEGIN PGP PRIVATE KEY BLOCK-----\\nlQOYBF\\n-----END PGP PRIVATE KEY BLOCK-----]]',
    '- -----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\\n-----END PUBLIC KEY-----',
    '- -----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----',
    '- -----BEGIN ENCRYPTED MESSAGE-----',
]

C['bearer_token'] = [
    '+ Authorization: Bearer [[abcdef0123456789abcdef]]',
    '+ bearer [[mF_9.B5f-4.1JqM-xyz]]',
    '+ BEARER  [[%s]]' % jwt1,
    '- the bearer of bad news',
    '- Bearer authenticationfailure',
    '- Bearer short1',
]

C['basic_auth'] = [
    '+ Authorization: Basic [[dXNlcjpwYXNzd29yZA==]]',
    '+ basic [[YWxhZGRpbjpvcGVuc2VzYW1l]]',
    '- Basic authentication required',
    '- Basic aGVsbG8gd29ybGQ=',
    '+ Proxy-Authorization: Basic [[Ym9iOnMzY3JldCE=]]',
    '- basic YWJj',
]

C['slack_token'] = [
    '+ [[xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx]]',
    '+ token=[[xoxp-1234567890-1234567890-1234567890-abcdef0123456789]]',
    '- xoxb-123',
    '- xoxz-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
    '+ [[xoxa-2-1234567890-1234567890123-abcdefabcdef]]',
    '- xoxb_123456789012_1234567890123',
]

C['slack_webhook'] = [
    '+ https://[[hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX]]',
    '+ url=https://[[hooks.slack.com/services/TABCDEFGH/BABCDEFGH/abcdefghijklmnop1234]]',
    '- https://hooks.slack.com/services/invalid',
    '- https://hooks.slack.com/apps',
    '+ [[hooks.slack.com/services/T12345678/B12345678/0123456789abcdefABCDEF]]',
    '- hooks.slack.com/services/T1/B1/x',
]

C['stripe_key'] = [
    '+ [[sk_live_4eC39HqLyjWDarjtT1zdp7dc]]',
    '+ STRIPE=[[rk_test_51H8abcdefghijklmnopqrstu]]',
    '- pk_live_4eC39HqLyjWDarjtT1zdp7dc',
    '- sk_live_short',
    '+ [[sk_test_51H8abcdefghijklmnopqrstuv]]',
    '- sk_prod_4eC39HqLyjWDarjtT1zdp7dc',
]

C['google_api_key'] = [
    '+ [[AIzaSyA-1234567890abcdefghijklmnopqrstu]]',
    '+ key=[[AIzaSyBcDeFgHiJkLmNoPqRsTuVwXyZ_0123456]]&q=x',
    '- AIzaSyA-1234567890abcdefghijklmnopqrst',
    '- AIza',
    '+ "[[AIzaSyC_0123456789-abcdefghijklmnopqrst]]"',
    '- AIzbSyA-1234567890abcdefghijklmnopqrstu',
]

C['openai_api_key'] = [
    '+ [[sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIj]]',
    '+ OPENAI_API_KEY=[[sk-AbCdEfGhIjKlMnOpQrStT3BlbkFJAbCdEfGhIjKlMnOpQrSt]]',
    '- sk-short',
    '- sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKl',
    '+ [[sk-svcacct-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCd]]',
    '- sk-proj-short',
]

C['anthropic_api_key'] = [
    '+ [[sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh]]',
    '+ x-api-key: [[sk-ant-admin01-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF]]',
    '- sk-ant-short',
    '- sk-antelope-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh',
    '+ key [[sk-ant-api03-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210ZyXwVuTs_-AA]]',
    '- sk-ant-api03-tooShort',
]

C['sendgrid_key'] = [
    '+ [[SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ]]',
    '+ key "[[SG.ABCDEFGHIJKLMNOPQRSTUV.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG]]"',
    '- SG.short.key',
    '+ [[SG.0123456789abcdefghijkl.mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012]]',
    '- SG.abcdefghijklmnopqrstuv.short',
    '- sg.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ',
]

C['secret_assignment'] = [
    '+ password=[[hunter22]]',
    '+ {"client_secret": "[[a1b2c3d4e5]]"}',
    '+ pwd=[[s3cr3t!]]&user=x',
    '+ API_KEY = [[abc123xyz]]',
    '+ db.password: [[Tr0ub4dor]]',
    '- password=',
    '- password: ********',
    '- password=null',
    '- password=${DB_PASS}',
    '- passwordless login',
    '- password reset requested',
]

C['generic_secret'] = [
    '+ token [[Xk3aP9Lm2Nq7Rs8Tv4Wy6Za1Bc5De0Fg]]',
    '+ [[q8Z2xW5vB1nM7kL3jH9gF4dS6aP0oI2u]]',
    '+ secret=[[r4N_d0m-T0k3n_W1th-Jo1n3rs_9xQ]]',
    '- id 550e8400-e29b-41d4-a716-446655440000',
    '- sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    '- ThisIsACamelCaseIdentifierName',
    '- /api/v1/Users/ProfileSettings2',
    '- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1a',
    '- pod checkout-7d9f8b6c5d-x2k4p',
    '- trace 5b8efff798038103d269b633813fc60c',
    '- AbstractSingletonProxyFactoryBean2',
    # word-prefixed ids are not secrets unless a key or a word says so
    '- req_Xk3aP9Lm2Nq7Rs8Tv4Wy6Za1',
    '- request id_Q8z2xW5vB1nM7kL3jH9gF4dS6',
    '- evt-r4NdT0k3nW1thJo1n3rs9xQz',
    '+ session token [[sess_Xk3aP9Lm2Nq7Rs8Tv4Wy6Za1]]',
    '+ api_key [[cus_Q8z2xW5vB1nM7kL3jH9gF4dS6]]',
    # a secret as a URL path segment
    '+ GET /api/keys/[[Xk3aP9Lm2Nq7Rs8Tv4Wy6Za1Bc5De0Fg]]/rotate',
    '- GET /api/v1/Users/ProfileSettings/orders/history',
]

# ---- national ids of EE, RO, CZ, TR, ZA, HR, KR ----

def ee_ik(p10):
    w1 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1]; w2 = [3, 4, 5, 6, 7, 8, 9, 1, 2, 3]
    c = sum(int(d) * w for d, w in zip(p10, w1)) % 11
    if c == 10:
        c = sum(int(d) * w for d, w in zip(p10, w2)) % 11
        if c == 10: c = 0
    return p10 + str(c)

def ro_cnp(p12):
    c = sum(int(d) * int(w) for d, w in zip(p12, '279146358279')) % 11
    return p12 + ('1' if c == 10 else str(c))

def cz_rc(p9):
    for c in range(10):
        if int(p9 + str(c)) % 11 == 0: return p9 + str(c)
    return None

def tr_tckn(p9):
    d = [int(x) for x in p9]
    d10 = (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10
    d11 = (sum(d) + d10) % 10
    return p9 + str(d10) + str(d11)

def za_id(p12): return luhn(p12)

def kr_rrn(p12):
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    return p12 + str((11 - sum(int(d) * x for d, x in zip(p12, w)) % 11) % 10)

def bump(v): return v[:-1] + str((int(v[-1]) + 1) % 10)

ees = [ee_ik('3760503029'), ee_ik('4900101123'), ee_ik('6010315456')]
C['ee_isikukood'] = [
    '+ isikukood [[%s]]' % ees[0],
    '+ isikukood: [[%s]]' % ees[1],
    '+ personal_code=[[%s]]' % ees[2],
    '- isikukood %s' % bump(ees[0]),
    '- %s alone' % ees[0],
    '- isikukood %s' % ee_ik('9760503029'),
]
cnps = [ro_cnp('180010122114'), ro_cnp('297123140123'), ro_cnp('502063040055')]
C['ro_cnp'] = [
    '+ CNP [[%s]]' % cnps[0],
    '+ cnp: [[%s]]' % cnps[1],
    '+ cod numeric personal [[%s]]' % cnps[2],
    '- CNP %s' % bump(cnps[0]),
    '- %s alone' % cnps[0],
    '- CNP %s' % ro_cnp('181301221144'),
]
rcs = [cz_rc('736028516')] + find_valid(lambda n: cz_rc('850101%03d' % n), 120) + \
    find_valid(lambda n: cz_rc('045512%03d' % n), 340)
C['cz_rodne_cislo'] = [
    '+ [[%s/%s]]' % (rcs[0][:6], rcs[0][6:]),
    '+ rodne cislo [[%s]]' % rcs[1],
    '+ rodné číslo: [[%s/%s]]' % (rcs[2][:6], rcs[2][6:]),
    '- %s/%s' % (rcs[0][:6], bump(rcs[0])[6:]),
    '- %s alone' % rcs[1],
    '- 731328/5163',
]
tcs = [tr_tckn('100000001'), tr_tckn('123456789'), tr_tckn('987654321')]
C['tr_tckn'] = [
    '+ TC Kimlik No [[%s]]' % tcs[0],
    '+ tckn=[[%s]]' % tcs[1],
    '+ kimlik: [[%s]]' % tcs[2],
    '- kimlik %s' % bump(tcs[1]),
    '- %s alone' % tcs[1],
    '- kimlik 0%s' % tcs[1][1:],
]
zas = [za_id('800101500908'), za_id('920315012308'), za_id('050722510018')]
C['za_id'] = [
    '+ ID number [[%s]]' % zas[0],
    '+ identity number: [[%s]]' % zas[1],
    '+ rsa_id=[[%s]]' % zas[2],
    '- ID number %s' % bump(zas[0]),
    '- %s alone' % zas[0],
    '- ID number %s' % za_id('801301500908'),
    '+ [[%s %s %s %s]]' % (zas[0][:6], zas[0][6:10], zas[0][10:12], zas[0][12]),
    '- %s %s %s %s' % (zas[0][:6], zas[0][6:10], zas[0][10:12], bump(zas[0])[12]),
]
oibs = [mod11_10('6943515153'), mod11_10('1234567890'), mod11_10('9876543210')]
C['hr_oib'] = [
    '+ OIB [[%s]]' % oibs[0],
    '+ oib: [[%s]]' % oibs[1],
    '+ osobni identifikacijski broj [[%s]]' % oibs[2],
    '- OIB %s' % bump(oibs[0]),
    '- %s alone' % oibs[0],
    '- OIB 11111111111',
]
krs = [kr_rrn('800101123456'), kr_rrn('951231234567'), kr_rrn('020304345678')]
C['kr_rrn'] = [
    '+ [[%s-%s]]' % (krs[0][:6], krs[0][6:]),
    '+ RRN [[%s]]' % krs[1],
    '+ resident registration number [[%s-%s]]' % (krs[2][:6], krs[2][6:]),
    '- %s-%s' % (krs[0][:6], bump(krs[0])[6:]),
    '- %s alone' % krs[1],
    '- 801301-%s' % krs[0][6:],
]
C['datadog_api_key'] = [
    '+ DD_API_KEY=[[0f1e2d3c4b5a69788796a5b4c3d2e1f0]]',
    '+ datadog api key [[a1b2c3d4e5f60718293a4b5c6d7e8f90]]',
    '+ DD-API-KEY: [[1234567890abcdef1234567890abcdef]]',
    '- trace 0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    '- DD_API_KEY=0F1E2D3C4B5A69788796A5B4C3D2E1F0',
    '- datadog 0f1e2d3c4b5a69788796a5b4c3d2e1f',
]
C['datadog_app_key'] = [
    '+ DD_APP_KEY=[[0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c]]',
    '+ dd application key [[a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4]]',
    '+ datadog [[1234567890abcdef1234567890abcdef12345678]]',
    '- commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
    '- DD_APP_KEY=9f86d081884c7d659a2feaa0c55ad015a3bf4f1',
    '- datadog 9f86d081884c7d659a2feaa0c55ad015a3bf4f1bb',
]

C['person_name'] = [
    '+ customer name: [[John Smith]]',
    '+ Dear [[Maria Rossi]], your order shipped',
    '+ patient [[Peter van der Berg]] admitted',
    '+ Mrs [[Anna Müller-Schmidt]] called',
    '- John Smith called',
    '- service name: Checkout Service',
    '- user Grant Access Denied',
    '- name: Payment Gateway',
]
C['street_address'] = [
    '+ ship to [[221B Baker Street]], London',
    '+ address: [[Hauptstraße 12]], 10115 Berlin',
    '+ adresse [[12 rue de la Paix]]',
    '+ indirizzo [[Via Roma 12]]',
    '+ delivery address [[1600 Pennsylvania Ave]] NW',
    '+ address [[Keizersgracht 123]]',
    '- 221B Baker Street',
    '- address family 12 ipv4',
    '- address: Hauptstraße',
    '- shipping took 12 days',
]

for name, lines in C.items():
    with open(os.path.join(OUT, name + '.txt'), 'w') as f:
        f.write('# corpus for the %s detector (generated by make_corpus.py)\n' % name)
        for l in lines:
            f.write(l + '\n')
print('wrote %d corpora' % len(C))
