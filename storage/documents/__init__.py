"""Beanie documents, one module per domain; `ALL_DOCUMENTS` is what init_beanie loads."""

from beanie import Document

from storage.documents.accounts import LoginFailure, UserDocument
from storage.documents.executions import (
    ExecutionDocument,
    ExecutionEventDocument,
    ExecutionGraphDocument,
)
from storage.documents.human_input import HumanRequestDocument
from storage.documents.knowledge import (
    KnowledgeBaseDocument,
    KnowledgeFileDocument,
    KnowledgeIngestEventDocument,
)
from storage.documents.list_revisions import ListRevisionDocument
from storage.documents.secrets import (
    ApiKeyDocument,
    CredentialDocument,
    DataSourceDocument,
    UploadDocument,
)
from storage.documents.skills import SkillDocument
from storage.documents.workflows import TemplateDocument, WorkflowDocument, WorkflowVersionDocument

ALL_DOCUMENTS: list[type[Document]] = [
    ListRevisionDocument,
    UserDocument,
    LoginFailure,
    WorkflowDocument,
    WorkflowVersionDocument,
    TemplateDocument,
    ExecutionDocument,
    ExecutionEventDocument,
    ExecutionGraphDocument,
    DataSourceDocument,
    CredentialDocument,
    ApiKeyDocument,
    UploadDocument,
    HumanRequestDocument,
    SkillDocument,
    KnowledgeBaseDocument,
    KnowledgeFileDocument,
    KnowledgeIngestEventDocument,
]

__all__ = [
    "ALL_DOCUMENTS",
    "ApiKeyDocument",
    "CredentialDocument",
    "DataSourceDocument",
    "ExecutionDocument",
    "ExecutionEventDocument",
    "ExecutionGraphDocument",
    "KnowledgeBaseDocument",
    "KnowledgeFileDocument",
    "KnowledgeIngestEventDocument",
    "LoginFailure",
    "TemplateDocument",
    "UploadDocument",
    "UserDocument",
    "WorkflowDocument",
    "WorkflowVersionDocument",
]
