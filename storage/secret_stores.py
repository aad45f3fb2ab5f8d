"""MongoDB stores for data sources, credentials, API keys and uploads.

Secrets are sealed with `SecretBox` before they reach a document and opened
after they leave one; each token is bound to its object's id (AAD), so a token
copied onto another object does not open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from beanie.odm.enums import SortDirection
from gridfs import AsyncGridFSBucket
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from engine.errors import Conflict
from engine.outbound import OutboundGuard
from engine.services.apikeys import ApiKey
from engine.services.credentials import Credential
from engine.services.datasources import (
    ConnectionOutcome,
    DataSource,
    DataSourceQuery,
    FileReader,
)
from engine.services.pages import Page
from engine.services.uploads import Upload
from storage import connectors
from storage.connectors.base import MASK
from storage.crypto import SecretBox
from storage.documents import ApiKeyDocument, CredentialDocument, DataSourceDocument, UploadDocument
from storage.stores import to_record

GRIDFS_BUCKET = "uploads"


class MongoDataSourceStore:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def _document(self, source: DataSource) -> DataSourceDocument:
        public, secrets = connectors.split_secrets(source.type, source.config)
        aad = source.id.encode()
        fields = dataclasses.asdict(source)
        fields["config"] = public
        sealed = {path: self._box.encrypt(value, aad=aad) for path, value in secrets.items()}
        return DataSourceDocument(**fields, sealed_secrets=sealed)

    def _record(self, doc: DataSourceDocument) -> DataSource:
        aad = doc.id.encode()
        secrets = {p: self._box.decrypt(t, aad=aad) for p, t in doc.sealed_secrets.items()}
        source = to_record(DataSource, doc)
        source.config = connectors.merge_secrets(doc.config, secrets)
        return source

    async def add(self, source: DataSource) -> None:
        await self._document(source).insert()

    async def get(self, owner_id: str, source_id: str) -> DataSource | None:
        doc = await DataSourceDocument.find_one({"_id": source_id, "owner_id": owner_id})
        return self._record(doc) if doc else None

    async def find(self, owner_id: str, query: DataSourceQuery) -> Page[DataSource]:
        criteria: dict[str, Any] = {"owner_id": owner_id}
        if query.type:
            criteria["type"] = query.type
        if query.status:
            criteria["status"] = query.status
        # A user has a handful of data sources: count and page them in the database.
        total = await DataSourceDocument.get_pymongo_collection().count_documents(criteria)
        docs = (
            await DataSourceDocument.find(criteria)
            .sort([("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)])
            .skip(query.skip)
            .limit(query.limit)
            .to_list()
        )
        return Page(items=[self._record(d) for d in docs], total=total)

    async def save(self, source: DataSource) -> None:
        body = self._document(source).model_dump(by_alias=True)
        await DataSourceDocument.get_pymongo_collection().replace_one(
            {"_id": source.id, "owner_id": source.owner_id}, body
        )

    async def delete(self, owner_id: str, source_id: str) -> bool:
        result = await DataSourceDocument.get_pymongo_collection().delete_one(
            {"_id": source_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)


class ConnectorGateway:
    """The data source service's `Connectors` port over `storage.connectors`."""

    def __init__(self, guard: OutboundGuard, *, row_cap: int = 1000, timeout_s: float = 10) -> None:
        self._guard = guard
        self._row_cap = row_cap
        self._timeout_s = timeout_s

    def validate(self, ds_type: str, config: Mapping[str, Any]) -> None:
        connectors.validate_config(ds_type, config)

    def mask(self, ds_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
        return connectors.mask_config(ds_type, config)

    def keep_masked(
        self, ds_type: str, new: Mapping[str, Any], stored: Mapping[str, Any]
    ) -> dict[str, Any]:
        public, secrets = connectors.split_secrets(ds_type, new)
        _, old = connectors.split_secrets(ds_type, stored)
        kept = {p: old[p] for p, v in secrets.items() if v == MASK and p in old}
        fresh = {p: v for p, v in secrets.items() if v != MASK}
        return connectors.merge_secrets(public, {**fresh, **kept})

    async def test(
        self, ds_type: str, config: Mapping[str, Any], *, file_reader: FileReader | None
    ) -> ConnectionOutcome:
        check = await connectors.test_connection(
            ds_type, config, guard=self._guard, timeout_s=self._timeout_s, file_loader=file_reader
        )
        return ConnectionOutcome(ok=check.ok, message=check.message)

    async def query(
        self,
        ds_type: str,
        config: Mapping[str, Any],
        query: str,
        *,
        file_reader: FileReader | None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        result = await connectors.run_query(
            ds_type,
            config,
            query,
            guard=self._guard,
            row_cap=self._row_cap,
            timeout_s=self._timeout_s,
            file_loader=file_reader,
            params=params,
        )
        return {"data": result.data, "count": result.count, "truncated": result.truncated}


class MongoCredentialStore:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def _document(self, credential: Credential) -> CredentialDocument:
        fields = dataclasses.asdict(credential)
        key = fields.pop("api_key")
        sealed = self._box.encrypt(key, aad=credential.id.encode()) if key else ""
        return CredentialDocument(**fields, sealed_api_key=sealed)

    def _record(self, doc: CredentialDocument) -> Credential:
        credential = to_record(Credential, doc)
        if doc.sealed_api_key:
            credential.api_key = self._box.decrypt(doc.sealed_api_key, aad=doc.id.encode())
        return credential

    async def add(self, credential: Credential) -> None:
        await self._document(credential).insert()

    async def get(self, owner_id: str, credential_id: str) -> Credential | None:
        doc = await CredentialDocument.find_one({"_id": credential_id, "owner_id": owner_id})
        return self._record(doc) if doc else None

    async def find(self, owner_id: str) -> list[Credential]:
        docs = (
            await CredentialDocument.find({"owner_id": owner_id})
            .sort([("created_at", SortDirection.ASCENDING), ("_id", SortDirection.ASCENDING)])
            .to_list()
        )
        return [self._record(d) for d in docs]

    async def for_provider(self, owner_id: str, provider: str) -> Credential | None:
        docs = (
            await CredentialDocument.find({"owner_id": owner_id, "provider": provider})
            .sort([("updated_at", SortDirection.DESCENDING)])
            .limit(1)
            .to_list()
        )
        return self._record(docs[0]) if docs else None

    async def save(self, credential: Credential) -> None:
        body = self._document(credential).model_dump(by_alias=True)
        await CredentialDocument.get_pymongo_collection().replace_one(
            {"_id": credential.id, "owner_id": credential.owner_id}, body
        )

    async def delete(self, owner_id: str, credential_id: str) -> bool:
        result = await CredentialDocument.get_pymongo_collection().delete_one(
            {"_id": credential_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)


class MongoApiKeyStore:
    async def add(self, key: ApiKey) -> None:
        try:
            await ApiKeyDocument(**dataclasses.asdict(key)).insert()
        except DuplicateKeyError as exc:  # a 256-bit collision: astronomically unlikely
            raise Conflict("API key collision; retry") from exc

    async def find(self, owner_id: str) -> list[ApiKey]:
        docs = (
            await ApiKeyDocument.find({"owner_id": owner_id})
            .sort([("created_at", SortDirection.DESCENDING)])
            .to_list()
        )
        return [to_record(ApiKey, d) for d in docs]

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        doc = await ApiKeyDocument.find_one({"key_hash": key_hash})
        return to_record(ApiKey, doc) if doc else None

    async def delete(self, owner_id: str, key_id: str) -> bool:
        result = await ApiKeyDocument.get_pymongo_collection().delete_one(
            {"_id": key_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)


class GridFSUploadStore:
    """Upload bytes in GridFS (file id = upload id), metadata in `uploads_meta` (TTL index)."""

    def _bucket(self) -> AsyncGridFSBucket:
        database: AsyncDatabase[Any] = UploadDocument.get_pymongo_collection().database
        return AsyncGridFSBucket(database, bucket_name=GRIDFS_BUCKET)

    async def put(self, upload: Upload, chunks: AsyncIterator[bytes]) -> int:
        bucket = self._bucket()
        stream = bucket.open_upload_stream_with_id(
            upload.id,
            upload.file_name,
            metadata={"owner_id": upload.owner_id, "expires_at": upload.expires_at},
        )
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                await stream.write(chunk)
        except BaseException:
            await stream.abort()
            raise
        await stream.close()
        upload.size = size
        fields = dataclasses.asdict(upload)
        await UploadDocument(**fields, gridfs_id=upload.id).insert()
        return size

    async def get(self, owner_id: str, upload_id: str) -> Upload | None:
        doc = await UploadDocument.find_one({"_id": upload_id, "owner_id": owner_id})
        return to_record(Upload, doc) if doc else None

    async def read(self, upload_id: str) -> bytes:
        stream = await self._bucket().open_download_stream(upload_id)
        return await stream.read()

    async def delete(self, upload_id: str) -> None:
        await UploadDocument.get_pymongo_collection().delete_one({"_id": upload_id})
        files = UploadDocument.get_pymongo_collection().database[f"{GRIDFS_BUCKET}.files"]
        if await files.find_one({"_id": upload_id}, {"_id": 1}):
            await self._bucket().delete(upload_id)

    async def expired(self, now: datetime) -> list[str]:
        # GridFS's own metadata, so bytes whose record the TTL index already removed go too.
        files = UploadDocument.get_pymongo_collection().database[f"{GRIDFS_BUCKET}.files"]
        cursor = files.find({"metadata.expires_at": {"$lte": now}}, {"_id": 1}).limit(500)
        return [doc["_id"] async for doc in cursor]
