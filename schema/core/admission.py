"""Documents already admitted skip the checks that depend on their text alone.

Every request runs ten schema extensions. Seven of them look only at the
document (token limits, the parser and validation caches, directive and NUL
guards, depth and alias rules): a text that passed them once passes them
again. Strawberry still builds and enters every hook of all ten on each
request, about a fifth of a small query's CPU. A text that parsed and
validated without error is admitted here; its later requests run only the
extensions that act at execution (error masking, the store version a query
keeps, the database probe).

The one document check that depends on more than the text, NUL characters in
the variables, is made again on every request; a request that fails it, an
unknown text and an operation name the document lacks take strawberry's full
path and get its errors.
"""

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import strawberry
from graphql import DocumentNode
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, _coerce_error
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from schema.core.guards import has_nul

# Hooks a document extension may have (on_operation only to set parse options
# or validation rules), and those an execution extension may have.
DOCUMENT_HOOKS = frozenset({"on_operation", "on_parse", "on_validate"})
EXECUTION_HOOKS = frozenset({"on_operation", "on_execute", "on_stream_result"})
_ALL_HOOKS = (
    "on_operation",
    "on_parse",
    "on_validate",
    "on_execute",
    "on_stream_result",
    "resolve",
    "get_results",
)
# Anyone may send valid documents, and a parsed one takes up to ~150 times
# its text in memory (a 5 kB text of fragment spreads: 670 kB). So only short
# texts are kept (storefront queries are a few hundred characters), within a
# budget of characters for all of them: about 40 MB of documents at worst.
MAX_ENTRIES = 512
MAX_LENGTH = 4_000
MAX_CHARACTERS = 256_000


class AdmittedDocuments:
    """Parsed documents that passed every document check, by text (LRU)."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_length: int = MAX_LENGTH,
        max_characters: int = MAX_CHARACTERS,
    ):
        self.max_entries, self.max_length = max_entries, max_length
        self.max_characters = max_characters
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self._characters = 0

    def get(self, text: str | None) -> DocumentNode | None:
        if text is None:
            return None
        document = self._documents.get(text)
        if document is not None:
            self._documents.move_to_end(text)
        return document

    def admit(self, text: str, document: DocumentNode) -> None:
        if len(text) > self.max_length or text in self._documents:
            return
        self._documents[text] = document
        self._characters += len(text)
        while (
            len(self._documents) > self.max_entries
            or self._characters > self.max_characters
        ):
            oldest, _ = self._documents.popitem(last=False)
            self._characters -= len(oldest)


def recorder(admitted: AdmittedDocuments) -> type[SchemaExtension]:
    """The first extension: admits a text once it validated cleanly. Hooks
    exit in reverse order, so its exit from validation comes after every
    other extension's; a failure in any of them never reaches it."""

    class Admit(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            yield
            context = self.execution_context
            if (
                not context.pre_execution_errors
                and context.query is not None
                and context.graphql_document is not None
            ):
                admitted.admit(context.query, context.graphql_document)

    return Admit


def hooks_of(extension: type[SchemaExtension]) -> set[str]:
    """The hooks an extension class overrides."""
    return {
        name
        for name in _ALL_HOOKS
        if getattr(extension, name, None) is not getattr(SchemaExtension, name, None)
    }


def check_split(
    document: Sequence[type[SchemaExtension]],
    execution: Iterable[type[SchemaExtension]],
) -> None:
    """Refuse a split under which the admitted path would skip work that
    depends on more than the text, or run an execution extension half-way."""
    for extensions, allowed in (
        (document, DOCUMENT_HOOKS),
        (execution, EXECUTION_HOOKS),
    ):
        for extension in extensions:
            extra = hooks_of(extension) - allowed
            if extra:
                raise TypeError(f"{extension.__name__} acts at {sorted(extra)}")


class AdmittingSchema(strawberry.Schema):
    """A schema whose admitted documents run only the execution extensions.

    `document_extensions` check the text (they run on its first request);
    `execution_extensions` act while it runs (they run on every request).
    """

    def __init__(
        self,
        *args: Any,
        document_extensions: Sequence[type[SchemaExtension]],
        execution_extensions: Sequence[type[SchemaExtension]],
        **kwargs: Any,
    ):
        check_split(document_extensions, execution_extensions)
        self.admitted = AdmittedDocuments()
        self._execution_extensions = tuple(execution_extensions)
        super().__init__(  # type: ignore[misc]  # extensions: built here, not passed
            *args,
            extensions=[
                recorder(self.admitted),
                *document_extensions,
                *execution_extensions,
            ],
            **kwargs,
        )

    async def execute(  # strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        document = self.admitted.get(query)
        context = None
        if (
            document is not None
            and not self.directives
            and not has_nul(variable_values)
        ):
            context = self._create_execution_context(
                query=query,
                allowed_operation_types=DEFAULT_ALLOWED_OPERATION_TYPES
                if allowed_operation_types is None
                else allowed_operation_types,
                variable_values=variable_values,
                context_value=context_value,
                root_value=root_value,
                operation_name=operation_name,
                operation_extensions=operation_extensions,
            )
            context.graphql_document = document
            try:
                operation_type = context.operation_type
            except RuntimeError:  # no such operation: strawberry says so
                context = None
        if context is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        if operation_type not in context.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        # Schema.execute from here on, without parsing and validation.
        extensions = [make() for make in self._execution_extensions]
        for extension in extensions:
            extension.execution_context = context
        runner = self.create_extensions_runner(context, extensions)
        try:
            async with runner.operation():
                result = await self._execute_operation(
                    context,
                    runner,
                    self._get_middleware_manager(extensions),
                    self._get_execute_function(),
                    self._get_custom_context_kwargs(operation_extensions),
                )
        except Exception as error:  # as strawberry: an error result, not a raise
            return await self._handle_execution_result(
                context,
                PreExecutionError(data=None, errors=[_coerce_error(error)]),
                runner,
            )
        return await self._handle_execution_result(
            context, result, runner, skip_process_errors=True
        )
