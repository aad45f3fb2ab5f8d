"""MongoDB stores of the knowledge slice: knowledge bases, files, ingest events, originals.

Originals (the uploaded bytes) are in GridFS, bucket `knowledge_originals`,
under the file's id; chunks and their vectors are in the vector store
(`storage.vector_store`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Collection
from typing import Any

import anyio
import pymongo
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.clock import utcnow
from engine.errors import Conflict
from engine.knowledge.records import FileStatus, IngestEvent, KnowledgeBase, KnowledgeFile
from storage.documents import (
    KnowledgeBaseDocument,
    KnowledgeFileDocument,
    KnowledgeIngestEventDocument,
)
from storage.stores import to_record

ORIGINALS_BUCKET = "knowledge_originals"


class MongoKnowledgeBaseStore:
    @staticmethod
    def _collection() -> Any:
        return KnowledgeBaseDocument.get_pymongo_collection()

    async def add(self, kb: KnowledgeBase) -> None:
        await KnowledgeBaseDocument(**dataclasses.asdict(kb)).insert()

    async def get(self, owner_id: str, kb_id: str) -> KnowledgeBase | None:
        doc = await KnowledgeBaseDocument.find_one({"_id": kb_id, "owner_id": owner_id})
        return to_record(KnowledgeBase, doc) if doc else None

    async def find(self, owner_id: str) -> list[KnowledgeBase]:
        docs = (
            await KnowledgeBaseDocument.find({"owner_id": owner_id})
            .sort("-created_at", "-_id")
            .to_list()
        )
        return [to_record(KnowledgeBase, d) for d in docs]

    async def save(self, kb: KnowledgeBase) -> None:
        # Everything but the revision, which only `bump_revision` moves.
        fields = dataclasses.asdict(kb)
        for key in ("id", "owner_id", "revision", "created_at"):
            fields.pop(key)
        await self._collection().update_one(
            {"_id": kb.id, "owner_id": kb.owner_id}, {"$set": fields}
        )

    async def bump_revision(self, kb_id: str) -> None:
        await self._collection().update_one({"_id": kb_id}, {"$inc": {"revision": 1}})

    async def delete(self, owner_id: str, kb_id: str) -> bool:
        result = await self._collection().delete_one({"_id": kb_id, "owner_id": owner_id})
        return bool(result.deleted_count)


class MongoKnowledgeFileStore:
    @staticmethod
    def _collection() -> Any:
        return KnowledgeFileDocument.get_pymongo_collection()

    async def add(self, file: KnowledgeFile) -> None:
        await KnowledgeFileDocument(**dataclasses.asdict(file)).insert()

    async def get(self, owner_id: str, file_id: str) -> KnowledgeFile | None:
        doc = await KnowledgeFileDocument.find_one({"_id": file_id, "owner_id": owner_id})
        return to_record(KnowledgeFile, doc) if doc else None

    async def find(self, owner_id: str, kb_id: str) -> list[KnowledgeFile]:
        docs = (
            await KnowledgeFileDocument.find({"kb_id": kb_id, "owner_id": owner_id})
            .sort("+created_at", "+_id")
            .to_list()
        )
        return [to_record(KnowledgeFile, d) for d in docs]

    async def save(self, file: KnowledgeFile) -> None:
        # No upsert: a file deleted while its ingest ran stays deleted.
        body = KnowledgeFileDocument(**dataclasses.asdict(file)).model_dump(by_alias=True)
        await self._collection().replace_one({"_id": file.id, "owner_id": file.owner_id}, body)

    async def claim(self, owner_id: str, file_id: str) -> KnowledgeFile | None:
        now = utcnow()
        doc = await self._collection().find_one_and_update(
            {"_id": file_id, "owner_id": owner_id, "status": {"$in": ["pending", "failed"]}},
            {
                "$set": {
                    "status": "processing",
                    "error": None,
                    "chunk_count": 0,
                    "timings": {},
                    "started_at": now,
                    "updated_at": now,
                    "finished_at": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        return to_record(KnowledgeFile, KnowledgeFileDocument.model_validate(doc))

    async def statuses(self, kb_ids: Collection[str]) -> dict[str, FileStatus]:
        cursor = self._collection().find({"kb_id": {"$in": list(kb_ids)}}, {"status": 1})
        return {doc["_id"]: doc["status"] async for doc in cursor}

    async def stale(self, statuses: Collection[str]) -> list[KnowledgeFile]:
        docs = await KnowledgeFileDocument.find({"status": {"$in": list(statuses)}}).to_list()
        return [to_record(KnowledgeFile, d) for d in docs]

    async def delete(self, owner_id: str, file_id: str) -> bool:
        result = await self._collection().delete_one({"_id": file_id, "owner_id": owner_id})
        return bool(result.deleted_count)

    async def delete_for_kb(self, kb_id: str) -> list[str]:
        ids = [doc["_id"] async for doc in self._collection().find({"kb_id": kb_id}, {"_id": 1})]
        if ids:
            await self._collection().delete_many({"_id": {"$in": ids}})
        return ids


class MongoIngestEventStore:
    @staticmethod
    def _collection() -> Any:
        return KnowledgeIngestEventDocument.get_pymongo_collection()

    async def append(self, event: IngestEvent) -> None:
        try:
            await self._collection().insert_one(dataclasses.asdict(event))
        except DuplicateKeyError as exc:
            raise Conflict(f"ingest event {event.file_id}#{event.seq} exists already") from exc

    async def after(self, file_id: str, after_seq: int) -> list[IngestEvent]:
        cursor = (
            self._collection()
            .find({"file_id": file_id, "seq": {"$gt": after_seq}}, {"_id": 0})
            .sort([("seq", pymongo.ASCENDING)])
        )
        return [IngestEvent(**doc) async for doc in cursor]

    async def last_seq(self, file_id: str) -> int:
        doc = await self._collection().find_one(
            {"file_id": file_id}, {"seq": 1}, sort=[("seq", pymongo.DESCENDING)]
        )
        return int(doc["seq"]) if doc else 0

    async def delete_for_files(self, file_ids: Collection[str]) -> None:
        if file_ids:
            await self._collection().delete_many({"file_id": {"$in": list(file_ids)}})


class GridFSOriginalStore:
    """Uploaded bytes in GridFS, streamed in; an interrupted upload leaves nothing."""

    def _bucket(self) -> AsyncGridFSBucket:
        database: AsyncDatabase[Any] = KnowledgeFileDocument.get_pymongo_collection().database
        return AsyncGridFSBucket(database, bucket_name=ORIGINALS_BUCKET)

    async def put(self, file: KnowledgeFile, chunks: AsyncIterator[bytes]) -> int:
        stream = self._bucket().open_upload_stream_with_id(
            file.id,
            file.file_name,
            metadata={"owner_id": file.owner_id, "kb_id": file.kb_id},
        )
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                await stream.write(chunk)
        except BaseException:
            # Shielded: a cancelled upload must still remove the chunks written so far.
            with anyio.CancelScope(shield=True):
                await stream.abort()
            raise
        await stream.close()
        return size

    async def read(self, file_id: str) -> bytes:
        stream = await self._bucket().open_download_stream(file_id)
        return await stream.read()

    async def delete(self, file_id: str) -> None:
        try:
            await self._bucket().delete(file_id)
        except NoFile:
            pass
