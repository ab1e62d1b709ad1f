"""Argument descriptions shared by every operation."""

import strawberry

# Every mutation takes one `input` argument.
INPUT = strawberry.argument(description="The mutation's input; see the input type.")
