"""The web channel: the chat page, the idiom corner and the knowledge admin pages, all
server-rendered by zhiyan itself with a little JavaScript on top."""

from fastapi import APIRouter

from zhiyan.channels.web import admin, chat, idioms, static_files

router = APIRouter(include_in_schema=False)
for part in (chat, idioms, admin, static_files):
    router.include_router(part.router)
