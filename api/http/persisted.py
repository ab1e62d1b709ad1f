"""Automatic persisted queries (Apollo's APQ protocol).

A client sends only `extensions.persistedQuery.sha256Hash`; when this process
does not know the hash yet it answers `PERSISTED_QUERY_NOT_FOUND` and the
client sends the document once with its hash. Hot storefront queries then
travel as ~100 bytes and, with the parser and validation caches keyed by the
same text, skip parsing and validation entirely.

Entries are kept per store: a document can carry literals (an email written
inline), so one store must not learn what another sent by probing hashes.
Callers without a valid key neither store nor find anything. The cache is
bounded in entries and in document size, and a document is only kept when its
hash matches, so nobody can plant a document under another's hash.
"""

import hashlib
from collections import OrderedDict
from dataclasses import replace
from uuid import UUID

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
        self._documents: OrderedDict[tuple[UUID, str], str] = OrderedDict()

    def resolve(
        self, request: GraphQLRequestData, store_id: UUID | None
    ) -> GraphQLRequestData:
        """The request with its document filled in from, or added to, the
        store's cache (`store_id` None: an unauthenticated caller)."""
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
            key = (store_id, digest) if store_id is not None else None
            document = self._documents.get(key) if key is not None else None
            if key is None or document is None:
                # Apollo clients retry with the document on exactly this answer.
                raise PersistedQueryError(200, NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
            self._documents.move_to_end(key)
            return replace(request, query=document)
        # surrogatepass: a lone surrogate from JSON must not crash the hashing
        # (it then fails the hash check, or parsing, as the client's mistake).
        text = request.query.encode("utf-8", "surrogatepass")
        if hashlib.sha256(text).hexdigest() != digest:
            raise PersistedQueryError(
                400,
                "provided sha does not match query",
                "PERSISTED_QUERY_HASH_MISMATCH",
            )
        if store_id is not None and len(request.query) <= self.max_document_chars:
            key = (store_id, digest)
            self._documents[key] = request.query
            self._documents.move_to_end(key)
            while len(self._documents) > self.max_entries:
                self._documents.popitem(last=False)
        return request
