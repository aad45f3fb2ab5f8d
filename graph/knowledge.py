"""Knowledge bases over GraphQL: CRUD, file uploads (ingested as jobs), search, ingest events.

The rules are `engine.services.knowledge.KnowledgeService`'s; this module only
shapes them. An upload (GraphQL multipart request spec, like `uploadFile`)
stores the file and returns it `PENDING`; its ingest runs on in the server's
task group, and `ingestEvents(fileId, afterSeq)` replays and follows its
progress. Another user's knowledge base or file reads as null, like a missing
one; mutations on it are `NOT_FOUND`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.file_uploads import Upload

from engine.errors import NotFound
from engine.knowledge.records import IngestEvent, KnowledgeBase, KnowledgeFile, SearchHit
from graph.context import Context
from graph.conventions import Node, UserError, build_connection, connection_type, window
from graph.payloads import attempt
from graph.uploads import file_part
from graph.workflows import After, First, IdArg

Info = strawberry.Info[Context, None]
CHUNK = 256 * 1024


@strawberry.enum(description="Where a file's ingest stands.")
class KnowledgeFileStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Stored; its ingest has not started.")
    PROCESSING = strawberry.enum_value(
        "processing", description="Being parsed, chunked, embedded and indexed."
    )
    READY = strawberry.enum_value("ready", description="Ingested: its chunks are searchable.")
    FAILED = strawberry.enum_value(
        "failed", description="The ingest failed (see `error`); none of its chunks are kept."
    )


@strawberry.enum(name="IngestEventType", description="What an ingest event reports.")
class IngestEventKind(Enum):
    PROGRESS = strawberry.enum_value("progress", description="A step of the ingest.")
    COMPLETE = strawberry.enum_value(
        "complete", description="The file is ready (the last event; says the chunk count)."
    )
    ERROR = strawberry.enum_value("error", description="The ingest failed (the last event).")


@strawberry.enum(description="How a search ranks chunks.")
class KnowledgeSearchMode(Enum):
    HYBRID = strawberry.enum_value(
        "hybrid",
        description="Vector similarity fused with BM25 keyword ranking (reciprocal rank "
        "fusion): finds exact terms such as product codes too.",
    )
    VECTOR = strawberry.enum_value("vector", description="Vector (cosine) similarity alone.")


@strawberry.type(description="Milliseconds per ingest step (null until the step ran).")
class IngestTimings:
    parse_ms: int | None = strawberry.field(description="Reading and parsing the original.")
    chunk_ms: int | None = strawberry.field(description="Splitting the text into chunks.")
    embed_ms: int | None = strawberry.field(description="Embedding calls, all batches.")
    index_ms: int | None = strawberry.field(description="Writing to the vector store.")
    total_ms: int | None = strawberry.field(description="The whole job.")


@strawberry.type(name="IngestEvent", description="One step of a file's ingest.")
class IngestEventType:
    file_id: strawberry.ID = strawberry.field(description="The file being ingested.")
    knowledge_base_id: strawberry.ID = strawberry.field(description="Its knowledge base.")
    seq: int = strawberry.field(
        description="Per-file sequence number (1, 2, 3...): resume with `afterSeq`."
    )
    type: IngestEventKind = strawberry.field(description="Progress, or how it ended.")
    text: str = strawberry.field(description='What happened ("embedding 64/120", ...).')
    created_at: datetime = strawberry.field(description="When it happened.")

    @classmethod
    def of(cls, event: IngestEvent) -> IngestEventType:
        return cls(
            file_id=strawberry.ID(event.file_id),
            knowledge_base_id=strawberry.ID(event.kb_id),
            seq=event.seq,
            type=IngestEventKind(event.type),
            text=event.text,
            created_at=event.created_at,
        )


@strawberry.type(name="KnowledgeFile", description="A document of a knowledge base.")
class KnowledgeFileType(Node):
    id: strawberry.ID = strawberry.field(description="The file's id.")
    knowledge_base_id: strawberry.ID = strawberry.field(description="Its knowledge base.")
    file_name: str = strawberry.field(description="The uploaded file's name.")
    content_type: str = strawberry.field(description="Its media type.")
    size: int = strawberry.field(description="Bytes of the original (kept for re-ingesting).")
    status: KnowledgeFileStatus = strawberry.field(description="Where its ingest stands.")
    error: str | None = strawberry.field(description="Why the ingest failed (status FAILED).")
    chunk_count: int = strawberry.field(description="Searchable chunks (0 unless READY).")
    character_count: int = strawberry.field(description="Characters of text parsed from it.")
    timings: IngestTimings = strawberry.field(description="How long each ingest step took.")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    updated_at: datetime = strawberry.field(description="When its record last changed.")
    started_at: datetime | None = strawberry.field(description="When its ingest started.")
    finished_at: datetime | None = strawberry.field(description="When its ingest ended.")

    @classmethod
    def of(cls, f: KnowledgeFile) -> KnowledgeFileType:
        t = f.timings
        return cls(
            id=strawberry.ID(f.id),
            knowledge_base_id=strawberry.ID(f.kb_id),
            file_name=f.file_name,
            content_type=f.content_type,
            size=f.size,
            status=KnowledgeFileStatus(f.status),
            error=f.error,
            chunk_count=f.chunk_count,
            character_count=f.character_count,
            timings=IngestTimings(
                parse_ms=t.get("parse_ms"),
                chunk_ms=t.get("chunk_ms"),
                embed_ms=t.get("embed_ms"),
                index_ms=t.get("index_ms"),
                total_ms=t.get("total_ms"),
            ),
            created_at=f.created_at,
            updated_at=f.updated_at,
            started_at=f.started_at,
            finished_at=f.finished_at,
        )

    @strawberry.field(description="Its stored ingest events after `afterSeq`, in order.")
    async def events(
        self,
        info: Info,
        after_seq: Annotated[
            int, strawberry.argument(description="Start after this seq (0: all).")
        ] = 0,
    ) -> list[IngestEventType]:
        owner = await info.context.user_id()
        found = await info.context.services.knowledge.ingest_events_after(
            owner, str(self.id), after_seq
        )
        return [IngestEventType.of(e) for e in found]


KnowledgeFileConnection = connection_type(KnowledgeFileType, "KnowledgeFile", "knowledge file")


@strawberry.type(
    name="KnowledgeBase", description="A named set of documents, searched together by meaning."
)
class KnowledgeBaseType(Node):
    id: strawberry.ID = strawberry.field(description="The knowledge base's id.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What it holds.")
    embedding_model: str = strawberry.field(
        description="The embedding model (for Azure OpenAI, the deployment name)."
    )
    chunk_size: int = strawberry.field(
        description="Tokens per chunk (words, numbers, punctuation marks, CJK characters)."
    )
    chunk_overlap: int = strawberry.field(description="Tokens a chunk repeats of the previous.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, kb: KnowledgeBase) -> KnowledgeBaseType:
        return cls(
            id=strawberry.ID(kb.id),
            name=kb.name,
            description=kb.description,
            embedding_model=kb.embedding_model,
            chunk_size=kb.chunk_size,
            chunk_overlap=kb.chunk_overlap,
            created_at=kb.created_at,
            updated_at=kb.updated_at,
        )

    @strawberry.field(description="Its files, oldest first, with their ingest status.")
    async def files(
        self, info: Info, first: First = None, after: After = None
    ) -> KnowledgeFileConnection:
        owner = await info.context.user_id()
        page = window(first=first, after=after, last=None, before=None)
        found = await info.context.services.knowledge.list_files(owner, str(self.id))
        items = [KnowledgeFileType.of(f) for f in found[page.offset : page.offset + page.limit]]
        return build_connection(
            KnowledgeFileConnection, items, offset=page.offset, total=len(found)
        )


KnowledgeBaseConnection = connection_type(KnowledgeBaseType, "KnowledgeBase", "knowledge base")


@strawberry.type(name="KnowledgeSearchHit", description="A chunk that matches a search.")
class KnowledgeSearchHitType:
    text: str = strawberry.field(description="The chunk's text.")
    score: float = strawberry.field(
        description="0..1: HYBRID, the fused rank score scaled (1 = first by both rankings); "
        "VECTOR, the cosine similarity."
    )
    knowledge_base_id: strawberry.ID = strawberry.field(description="Its knowledge base.")
    file_id: strawberry.ID = strawberry.field(description="Its file.")
    file_name: str = strawberry.field(description="Its file's name.")
    chunk_index: int = strawberry.field(description="Its position in the file (from 0).")
    vector_score: float | None = strawberry.field(
        description="Cosine similarity, when it was among the nearest vectors."
    )
    keyword_score: float | None = strawberry.field(
        description="BM25 score, when it matched the query's keywords."
    )

    @classmethod
    def of(cls, hit: SearchHit) -> KnowledgeSearchHitType:
        return cls(
            text=hit.text,
            score=hit.score,
            knowledge_base_id=strawberry.ID(hit.knowledge_base_id),
            file_id=strawberry.ID(hit.file_id),
            file_name=hit.file_name,
            chunk_index=hit.chunk_index,
            vector_score=hit.vector_score,
            keyword_score=hit.keyword_score,
        )


# -- inputs and payloads ---------------------------------------------------------------------


@strawberry.input(description="A new, empty knowledge base.")
class CreateKnowledgeBaseInput:
    name: str = strawberry.field(description="Its name (at most 200 characters).")
    description: str | None = strawberry.field(default=None, description="What it holds.")
    embedding_model: str | None = strawberry.field(
        default=None, description="Default text-embedding-3-small (Azure: the deployment)."
    )
    chunk_size: int | None = strawberry.field(
        default=None, description="Tokens per chunk, 64..4096; default 512."
    )
    chunk_overlap: int | None = strawberry.field(
        default=None, description="Tokens of overlap, below chunkSize; default 50."
    )


@strawberry.input(
    description="A new name or description; absent fields keep their value. The model and "
    "chunking stay: the stored chunks were made with them."
)
class UpdateKnowledgeBaseInput:
    id: strawberry.ID = strawberry.field(description="The knowledge base.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    description: str | None = strawberry.field(default=None, description="A new description.")


@strawberry.input(description="The knowledge base to delete, with its files and chunks.")
class DeleteKnowledgeBaseInput:
    id: strawberry.ID = strawberry.field(description="The knowledge base.")


@strawberry.input(description="A document to add to a knowledge base (a multipart request part).")
class UploadKnowledgeFileInput:
    knowledge_base_id: strawberry.ID = strawberry.field(description="The knowledge base.")
    file: Upload = strawberry.field(
        description="txt, md, csv, json, html, pdf, docx, pptx or xlsx; at most 50 MB."
    )


@strawberry.input(description="The file to delete, with its chunks.")
class DeleteKnowledgeFileInput:
    knowledge_base_id: strawberry.ID = strawberry.field(description="Its knowledge base.")
    file_id: strawberry.ID = strawberry.field(description="The file.")


@strawberry.type(description="What `createKnowledgeBase` answers.")
class CreateKnowledgeBasePayload:
    knowledge_base: KnowledgeBaseType | None = strawberry.field(description="The new one.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `updateKnowledgeBase` answers.")
class UpdateKnowledgeBasePayload:
    knowledge_base: KnowledgeBaseType | None = strawberry.field(description="As it is now.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `deleteKnowledgeBase` answers.")
class DeleteKnowledgeBasePayload:
    deleted_knowledge_base_id: strawberry.ID | None = strawberry.field(description="Its id.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `uploadKnowledgeFile` answers.")
class UploadKnowledgeFilePayload:
    file: KnowledgeFileType | None = strawberry.field(
        description="The stored file (PENDING); follow `ingestEvents(fileId)` for its ingest."
    )
    user_errors: list[UserError] = strawberry.field(
        description="What to fix: UNSUPPORTED_MEDIA_TYPE naming the type, PAYLOAD_TOO_LARGE "
        "over 50 MB (nothing is stored either way)."
    )


@strawberry.type(description="What `deleteKnowledgeFile` answers.")
class DeleteKnowledgeFilePayload:
    deleted_file_id: strawberry.ID | None = strawberry.field(description="Its id.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


async def _chunks(upload: Any) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


# -- roots -----------------------------------------------------------------------------------


@strawberry.type
class KnowledgeQueryRoot:
    @strawberry.field(description="The caller's knowledge bases, newest first.")
    async def knowledge_bases(
        self, info: Info, first: First = None, after: After = None
    ) -> KnowledgeBaseConnection:
        owner = await info.context.user_id()
        page = window(first=first, after=after, last=None, before=None)
        found = await info.context.services.knowledge.list_knowledge_bases(owner)
        items = [KnowledgeBaseType.of(kb) for kb in found[page.offset : page.offset + page.limit]]
        return build_connection(
            KnowledgeBaseConnection, items, offset=page.offset, total=len(found)
        )

    @strawberry.field(description="One of the caller's knowledge bases, or null.")
    async def knowledge_base(self, info: Info, id: IdArg) -> KnowledgeBaseType | None:
        owner = await info.context.user_id()
        try:
            kb = await info.context.services.knowledge.get_knowledge_base(owner, str(id))
        except NotFound:
            return None
        return KnowledgeBaseType.of(kb)

    @strawberry.field(description="One of the caller's knowledge files, or null.")
    async def knowledge_file(self, info: Info, id: IdArg) -> KnowledgeFileType | None:
        owner = await info.context.user_id()
        try:
            return KnowledgeFileType.of(
                await info.context.services.knowledge.get_file(owner, str(id))
            )
        except NotFound:
            return None

    @strawberry.field(
        description="The chunks of a knowledge base that best match `query`, best first; null "
        "when the knowledge base is missing or not the caller's."
    )
    async def search_knowledge_base(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The knowledge base.")],
        query: Annotated[str, strawberry.argument(description="What to look for.")],
        top_k: Annotated[int, strawberry.argument(description="How many chunks, 1..50.")] = 5,
        min_score: Annotated[
            float, strawberry.argument(description="Leave out chunks scoring below this (0..1).")
        ] = 0.0,
        mode: Annotated[
            KnowledgeSearchMode, strawberry.argument(description="How to rank (default HYBRID).")
        ] = KnowledgeSearchMode.HYBRID,
        file_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Only chunks of these files."),
        ] = None,
    ) -> list[KnowledgeSearchHitType] | None:
        owner = await info.context.user_id()
        try:
            hits = await info.context.services.knowledge.search(
                owner,
                [str(id)],
                query,
                top_k=top_k,
                min_score=min_score,
                file_ids=None if file_ids is None else [str(f) for f in file_ids],
                mode="vector" if mode is KnowledgeSearchMode.VECTOR else "hybrid",
            )
        except NotFound:
            return None
        return [KnowledgeSearchHitType.of(hit) for hit in hits]


@strawberry.type
class KnowledgeMutationRoot:
    @strawberry.mutation(description="Create an empty knowledge base.")
    async def create_knowledge_base(
        self, info: Info, input: CreateKnowledgeBaseInput
    ) -> CreateKnowledgeBasePayload:
        owner = await info.context.user_id()
        service = info.context.services.knowledge
        created, errors = await attempt(
            lambda: service.create_knowledge_base(
                owner,
                name=input.name,
                description=input.description,
                embedding_model=input.embedding_model,
                chunk_size=input.chunk_size,
                chunk_overlap=input.chunk_overlap,
            )
        )
        return CreateKnowledgeBasePayload(
            knowledge_base=KnowledgeBaseType.of(created) if created else None, user_errors=errors
        )

    @strawberry.mutation(description="Rename or re-describe a knowledge base.")
    async def update_knowledge_base(
        self, info: Info, input: UpdateKnowledgeBaseInput
    ) -> UpdateKnowledgeBasePayload:
        owner = await info.context.user_id()
        service = info.context.services.knowledge
        updated, errors = await attempt(
            lambda: service.update_knowledge_base(
                owner, str(input.id), name=input.name, description=input.description
            )
        )
        return UpdateKnowledgeBasePayload(
            knowledge_base=KnowledgeBaseType.of(updated) if updated else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a knowledge base, its files and all their chunks.")
    async def delete_knowledge_base(
        self, info: Info, input: DeleteKnowledgeBaseInput
    ) -> DeleteKnowledgeBasePayload:
        owner = await info.context.user_id()
        await info.context.services.knowledge.delete_knowledge_base(owner, str(input.id))
        return DeleteKnowledgeBasePayload(deleted_knowledge_base_id=input.id, user_errors=[])

    @strawberry.mutation(
        description="Add a document and start its ingest, which goes on without the client: "
        "follow it with `ingestEvents(fileId)` or `knowledgeFile(id) { status }`."
    )
    async def upload_knowledge_file(
        self, info: Info, input: UploadKnowledgeFileInput
    ) -> UploadKnowledgeFilePayload:
        owner = await info.context.user_id()
        services = info.context.services
        # Refused before a byte is stored when no task group can run the job.
        group = services.jobs.group()
        upload = input.file
        saved, errors = await attempt(
            lambda: services.knowledge.ingest(
                owner,
                str(input.knowledge_base_id),
                file_name=getattr(upload, "filename", None) or "",
                content_type=getattr(upload, "content_type", None),
                chunks=_chunks(file_part(upload, services.knowledge.max_file_bytes)),
                task_group=group,
            )
        )
        return UploadKnowledgeFilePayload(
            file=KnowledgeFileType.of(saved) if saved else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a file of a knowledge base, with its chunks.")
    async def delete_knowledge_file(
        self, info: Info, input: DeleteKnowledgeFileInput
    ) -> DeleteKnowledgeFilePayload:
        owner = await info.context.user_id()
        await info.context.services.knowledge.delete_file(
            owner, str(input.knowledge_base_id), str(input.file_id)
        )
        return DeleteKnowledgeFilePayload(deleted_file_id=input.file_id, user_errors=[])


@strawberry.type
class KnowledgeSubscriptionRoot:
    @strawberry.subscription(
        description="A file's ingest events after `afterSeq`, then the live ones; completes "
        "after the COMPLETE or ERROR event. Reconnect with the last seq seen: no gap, no "
        "duplicate. The ingest does not depend on anyone following it."
    )
    async def ingest_events(
        self,
        info: Info,
        file_id: Annotated[strawberry.ID, strawberry.argument(description="The file.")],
        after_seq: Annotated[
            int, strawberry.argument(description="Start after this seq (0: all).")
        ] = 0,
    ) -> AsyncGenerator[IngestEventType, None]:
        owner = await info.context.user_id()
        events = cast(
            AsyncGenerator[IngestEvent, None],
            info.context.services.knowledge.follow_ingest(owner, str(file_id), after_seq),
        )
        # Closed here when a subscriber stops early, in the task that iterated it.
        async with aclosing(events):
            async for event in events:
                yield IngestEventType.of(event)
