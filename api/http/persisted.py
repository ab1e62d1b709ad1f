"""Automatic persisted queries (Apollo's APQ protocol).

A client sends only `extensions.persistedQuery.sha256Hash`; when this process
does not know the hash yet it answers `PERSISTED_QUERY_NOT_FOUND` and the
client sends the document once with its hash. Hot storefront queries then
travel as ~100 bytes and, with the parser and validation caches keyed by the
same text, skip parsing and validation entirely.

Documents are public knowledge (the schema is), so one cache serves every
store. It is bounded in entries and in document size, and a document is only
kept when its hash matches, so nobody can plant a document under another's hash.
"""

import hashlib
from collections import OrderedDict
from dataclasses import replace

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

NOT_FOUND = "PersistedQueryNotFound"


class PersistedQueryError(HTTPException):
    """An APQ answer the client acts on, with Apollo's code."""

    def __init__(self, status_code: int, message: str, code: str):
        super().__init__(status_code, message)
        self.code = code


class PersistedQueries:
    def __init__(self, *, max_entries: int = 1000, max_document_chars: int = 20_000):
        self.max_entries = max_entries
        self.max_document_chars = max_document_chars
        self._documents: OrderedDict[str, str] = OrderedDict()

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its document filled in from, or added to, the cache."""
        extension = (request.extensions or {}).get("persistedQuery")
        if extension is None:
            return request
        if (
            not isinstance(extension, dict)
            or extension.get("version") != 1
            or not isinstance(extension.get("sha256Hash"), str)
        ):
            raise PersistedQueryError(
                400,
                "persistedQuery needs version 1 and a sha256Hash string.",
                "PERSISTED_QUERY_INVALID",
            )
        digest = extension["sha256Hash"].lower()
        if request.query is None:
            document = self._documents.get(digest)
            if document is None:
                # Apollo clients retry with the document on exactly this answer.
                raise PersistedQueryError(200, NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
            self._documents.move_to_end(digest)
            return replace(request, query=document)
        if hashlib.sha256(request.query.encode()).hexdigest() != digest:
            raise PersistedQueryError(
                400,
                "provided sha does not match query",
                "PERSISTED_QUERY_HASH_MISMATCH",
            )
        if len(request.query) <= self.max_document_chars:
            self._documents[digest] = request.query
            self._documents.move_to_end(digest)
            while len(self._documents) > self.max_entries:
                self._documents.popitem(last=False)
        return request
