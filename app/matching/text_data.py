"""Static tables for text normalization: layouts, translit rules, word lists, bigram models.

The word lists are deliberately small (a few hundred folded word forms per language plus
support-desk vocabulary). They serve two purposes: recognising a reading of a chunk as a real
word when the knowledge base is empty, and training the tiny letter-bigram models that tell a
Russian word from English typed on the Russian layout (and vice versa).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

# Unshifted and shifted keys of a US QWERTY keyboard, aligned with the Russian ЙЦУКЕН keys
# printed on the same physical key.
QWERTY_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
JCUKEN_KEYS = "йцукенгшщзхъфывапролджэячсмитьбюё"
QWERTY_SHIFTED = 'QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>~'
JCUKEN_SHIFTED = "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"

TO_RU = str.maketrans(QWERTY_KEYS + QWERTY_SHIFTED, JCUKEN_KEYS + JCUKEN_SHIFTED)
TO_EN = str.maketrans(JCUKEN_KEYS + JCUKEN_SHIFTED, QWERTY_KEYS + QWERTY_SHIFTED)

# Multi-letter transliteration sequences, longest first so the scanner can match greedily.
TRANSLIT_SEQUENCES: tuple[tuple[str, str], ...] = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("ck", "к"),
    ("yu", "ю"),
    ("iu", "ю"),
    ("ju", "ю"),
    ("ia", "я"),
    ("ya", "я"),
    ("ja", "я"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
)

TRANSLIT_LETTERS: dict[str, str] = {
    "a": "а",
    "b": "б",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "х",
    "i": "и",
    "j": "й",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "к",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "кс",
    "z": "з",
    "'": "ь",
}

RU_VOWELS = frozenset("аеиоуыэюяё")
RU_CONSONANTS = frozenset("бвгджзйклмнпрстфхцчшщ")

_RU_WORDS = """
и в во не на я ты он она оно мы вы они с со что а по это этот эта эти этого этой этом этим
к ко но из у то тот та те того той том за свой своя свое свои своего своей для от до о об
так как же все весь вся всего всех всем уже еще бы себя себе сам сама один одна одно если
когда вот только или ли нет да есть был была было были будет будут быть буду будем могу может
можете могут можно нельзя нужно надо нужен нужна хочу хочет хотим хотите хотел хотела мочь
меня мне мной мой моя мое мои моего моей моих моим вас вам вами ваш ваша ваше ваши вашего
вашей ваших нас нам нами наш наша наше наши тебя тебе твой твоя его ее ему ей их им ими него
нее нему ним них кто кого кому чем чего чему где куда откуда почему зачем сколько какой какая
какое какие каким какую каких который которая которое которые котором тут там здесь сейчас
теперь потом тогда всегда никогда иногда снова опять очень тоже также еще даже просто вообще
ничего никто ни при под над после перед через без между около чтобы потому поэтому хотя
раз два три один пять день дня дни дней неделя месяц год года лет время минут час часа
сегодня завтра вчера утром вечером ночью давно недавно быстро долго медленно
привет здравствуйте здравствуй добрый доброе день вечер утро спасибо благодарю пожалуйста
помогите помочь помощь подскажите скажите объясните извините простите ок хорошо ладно
понятно ясно вопрос вопросы ответ ответа ответить проблема проблемы проблему ошибка ошибку
ошибки сделать делать делаю сделал сделала знать знаю знаете понять понимаю думаю вижу
сказать говорить написать написал написала пишу пишет звонить позвонить звонок звонила
оплата оплаты оплату оплате оплатить оплатил оплатила оплачен платеж платежа платить плачу
деньги денег средства счет счета карта карты карту картой банк банка перевод вернуть
возврат возврата вернули списали списание списания заказ заказа заказы заказать заказал
доставка доставки доставку доставить курьер товар товара товары цена цены стоимость стоит
купить купил покупка скидка скидки промокод бонус бонусы баллы рублей рубль руб
пароль пароля логин войти вход входа зайти выйти аккаунт аккаунта кабинет кабинета личный
личного личном профиль профиля настройки настроек настроить настройка изменить поменять
сменить восстановить сбросить забыл забыла удалить отменить отмена подключить отключить
подключение регистрация зарегистрироваться данные почта почту почты адрес номер номера
телефон телефона смс код кода сообщение письмо приложение приложения приложении сайт сайта
сайте страница ссылка интернет интернета тариф тарифа тарифы услуга услуги услугу связь
сеть роутер модем скорость работает работать работ не работает перестал перестала включить
сервис поддержка поддержки оператор оператора оператором сотрудник человек менеджер
договор документ документы чек квитанция компания магазин подписка подписку подписки
продлить срок сроки часы работы статус проверить получить получил получила пришел пришла
пришло приходит отправить отправил отправила отправлено отправка новый новая новое новые
старый другой другая другие первый последний весь целый большой маленький хороший плохой
правильно неправильно верно снова каждый любой должен должна должны можно ли нужен
устройство компьютер ноутбук телефоне планшет экран кнопка кнопку нажать нажимаю выбрать
ввести вводить введите указать указал найти нашел нет ничего появилось появляется пишет
открыть открывается закрыть загрузить скачать обновить обновление версия файл фото
"""

_EN_WORDS = """
the be to of and a in that have i it for not on with he as you do at this but his by from they
we say her she or an will my one all would there their what so up out if about who get which go
me when make can like time no just him know take people into year your good some could them see
other than then now look only come its over think also back after use two how our work first
well way even new want because any these give day most us is are was were been has had did does
doing done am isn don can cannot won didn doesn im please thanks thank hello
hi hey dear yes ok okay sorry help need needs problem issue question answer where why here
very much many more less again still already never always sometimes today yesterday tomorrow
should must may might shall let lets got get gets getting went going gone made making said tell
told ask asked call called try tried trying find found show shown keep left right same each
every both few own such long little old big small high low next last before under between
without within through during until while off down above below why whom whose something
nothing anything everything someone anyone nobody everyone thing things place home world life
hand part case week month hour minute second number point fact money name end
account accounts login log logout sign signin signup register registration password passwords
username user users email e mail address phone mobile number code verification verify sms text
message messages reset change update delete remove cancel cancelled refund refunds return
payment payments pay paid card cards credit debit bank transfer invoice bill billing charge
charged price cost plan plans subscription subscribe unsubscribe renew order orders delivery
deliver shipping ship shipped package tracking track status support service customer agent
human operator contact chat manager app application website site page link browser download
install upload file files settings setting profile internet connection network router modem
wi fi wifi speed slow fast working work works broken error errors crash crashes open close
opened closed screen button click enter entered wrong correct forgot forgotten lost locked
unlock access available unavailable data privacy security device devices computer laptop
iphone android ios windows mac tv online offline store shop product products discount coupon
promo bonus points tariff balance limit free trial version new old receive received send sent
not still yet activate activation confirm confirmation
"""


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


RU_FREQUENT: frozenset[str] = _words(_RU_WORDS)
EN_FREQUENT: frozenset[str] = _words(_EN_WORDS)

# "ye" after a consonant is usually the adjective ending ("novye" = новые), not "е".
Y_AFTER_CONSONANT: dict[str, str] = {"ye": "ые"}


# The sequences as one alternation in the same order: the first that matches wins, as in a
# scan of the list, but the regex engine tries them in C.
_SEQUENCE = re.compile("|".join(re.escape(seq) for seq, _ in TRANSLIT_SEQUENCES))
_SEQUENCE_LETTER = dict(TRANSLIT_SEQUENCES)


def transliterate(word: str, ia: str = "я", initial_e: str = "е") -> str:
    """Greedy left-to-right scan; ia/initial_e let callers try the other common spellings."""
    out: list[str] = []
    i = 0
    while i < len(word):
        prev = out[-1][-1] if out else ""
        found = _SEQUENCE.match(word, i)
        if found:
            seq = found.group()
            letter = _SEQUENCE_LETTER[seq]
            if seq in Y_AFTER_CONSONANT and prev in RU_CONSONANTS:
                letter = Y_AFTER_CONSONANT[seq]
            out.append(ia if seq == "ia" else letter)
            i += len(seq)
        else:
            out.append(_letter(word, i, prev, initial_e))
            i += 1
    return "".join(out)


def _letter(word: str, i: int, prev: str, initial_e: str) -> str:
    ch = word[i]
    if ch == "y":
        return "й" if prev in RU_VOWELS else "ы"
    if ch == "c":
        return "ц" if word[i + 1 : i + 2] in ("e", "i", "y") else "к"
    if ch == "e" and not prev.isalpha():
        return initial_e
    if ch == "'":
        return "ь" if prev in RU_CONSONANTS else ch
    return TRANSLIT_LETTERS.get(ch, ch)


class BigramModel:
    """Add-one letter-bigram model; a few hundred words are enough to tell keyboard shapes."""

    def __init__(self, words: Iterable[str]) -> None:
        pairs: Counter[str] = Counter()
        starts: Counter[str] = Counter()
        for word in words:
            for a, b in pairwise(f"^{word}$"):
                pairs[a + b] += 1
                starts[a] += 1
        size = len(starts) + 1
        self._logp = {p: math.log((n + 1) / (starts[p[0]] + size)) for p, n in pairs.items()}
        self._unseen = {a: math.log(1 / (n + size)) for a, n in starts.items()}
        self._floor = math.log(1 / size)

    def score(self, word: str) -> float:
        total = 0.0
        for a, b in pairwise(f"^{word}$"):
            logp = self._logp.get(a + b)
            total += logp if logp is not None else self._unseen.get(a, self._floor)
        return total


# Each language's shape, and the shape of the other language typed on the wrong layout.
RU_BIGRAMS = BigramModel(RU_FREQUENT)
EN_BIGRAMS = BigramModel(EN_FREQUENT)
EN_ON_RU_BIGRAMS = BigramModel(w.translate(TO_RU) for w in EN_FREQUENT)
RU_ON_EN_BIGRAMS = BigramModel(w.translate(TO_EN) for w in RU_FREQUENT)
