"""The idiom corner: the idiom of the day on the chat page, and an idiom search page.

Both read the chengyu dictionary directly (no model involved), so they answer instantly
and work with JavaScript off.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zhiyan.channels.web.render import render
from zhiyan.chengyu.dictionary import Idiom, get_dictionary

router = APIRouter(include_in_schema=False)

MAX_RESULTS = 10


async def today() -> Idiom:
    # the first call loads the dictionary (about a second): keep the event loop free
    dictionary = await asyncio.to_thread(get_dictionary)
    return dictionary.idiom_of_the_day(dt.date.today())


def search(query: str) -> list[Idiom]:
    """An exact idiom (simplified, traditional or pinyin) first, then near spellings,
    pinyin initials and idioms sharing characters."""
    query = query.strip()[:40]
    if not query:
        return []
    dictionary = get_dictionary()
    exact = dictionary.lookup(query)
    found = {exact.word: exact} if exact else {}
    for idiom in dictionary.by_pinyin(query) + dictionary.closest(query, MAX_RESULTS):
        found.setdefault(idiom.word, idiom)
    return list(found.values())[:MAX_RESULTS]


@router.get("/idioms")
async def idiom_page(request: Request, q: str = "") -> Response:
    results = await asyncio.to_thread(search, q)
    return render(request, "idioms.html", query=q, results=results, idiom=await today())
