// Our schema conventions (issue 10) that graphql-schema-linter's built-in rules do not check.
// Loaded by the linter with require(), hence CommonJS (tests/js is an ES module package).
// Each exported function is a rule; the linter names it by kebab-casing the function name.
"use strict";

const { ValidationError } = require("graphql-schema-linter/lib/validation_error");

/** The type's SDL spelling (`[UserError!]!`) from its AST node. */
function spell(type) {
  if (type.kind === "NonNullType") return `${spell(type.type)}!`;
  if (type.kind === "ListType") return `[${spell(type.type)}]`;
  return type.name.value;
}

function named(type) {
  return type.kind === "NamedType" ? type.name.value : named(type.type);
}

function rootName(context, which) {
  const root = context.getSchema()[which]();
  return root ? root.name : null;
}

// Every mutation takes exactly one argument, `input: <Something>Input!`: adding a field
// to an input object never breaks a caller, adding an argument to a mutation can.
function MutationsTakeOneInput(context) {
  return {
    ObjectTypeDefinition(node) {
      if (node.name.value !== rootName(context, "getMutationType")) return;
      for (const field of node.fields || []) {
        const args = field.arguments || [];
        const arg = args[0];
        const ok =
          args.length === 1 &&
          arg.name.value === "input" &&
          arg.type.kind === "NonNullType" &&
          named(arg.type).endsWith("Input");
        if (!ok) {
          context.reportError(
            new ValidationError(
              "mutations-take-one-input",
              `The mutation \`${field.name.value}\` must take exactly one argument, ` +
                "`input: <Name>Input!`.",
              [field],
            ),
          );
        }
      }
    },
  };
}

// Every mutation answers a non-null `<Name>Payload` with `userErrors: [UserError!]!`, so a
// client reads what to fix in its input the same way from every mutation.
function MutationPayloadsHaveUserErrors(context) {
  return {
    ObjectTypeDefinition(node) {
      if (node.name.value !== rootName(context, "getMutationType")) return;
      for (const field of node.fields || []) {
        const typeName = named(field.type);
        const payload = context.getSchema().getType(typeName);
        const userErrors = payload && payload.getFields ? payload.getFields().userErrors : null;
        const ok =
          field.type.kind === "NonNullType" &&
          typeName.endsWith("Payload") &&
          userErrors &&
          String(userErrors.type) === "[UserError!]!";
        if (!ok) {
          context.reportError(
            new ValidationError(
              "mutation-payloads-have-user-errors",
              `The mutation \`${field.name.value}\` must return a non-null \`<Name>Payload\` ` +
                "with `userErrors: [UserError!]!`.",
              [field],
            ),
          );
        }
      }
    },
  };
}

// Input object names end in `Input`, except orderings, which follow GitHub's `<Thing>Order`.
function InputTypesEndInInput(context) {
  return {
    InputObjectTypeDefinition(node) {
      const name = node.name.value;
      if (name.endsWith("Input") || name.endsWith("Order")) return;
      context.reportError(
        new ValidationError(
          "input-types-end-in-input",
          `The input type \`${name}\` must be named \`...Input\` (or \`...Order\` for an ordering).`,
          [node],
        ),
      );
    },
  };
}

// Output lists are `[Item!]!`: never null, never a null item (an empty list says "none").
// Input and argument lists may be absent, but their items are non-null too. A lookup by
// `id` on the query root may answer a null list: null there means "missing or not yours".
function ListsAreNonNull(context) {
  function isLookup(parent, field) {
    const byId = (field.arguments || []).some((arg) => arg.name.value === "id");
    return byId && parent === rootName(context, "getQueryType");
  }
  function check(parent, field, output) {
    const outer = field.type;
    const list = outer.kind === "NonNullType" ? outer.type : outer;
    if (list.kind !== "ListType") return;
    const nullable = !output || isLookup(parent, field);
    const ok = list.type.kind === "NonNullType" && (nullable || outer.kind === "NonNullType");
    if (!ok) {
      context.reportError(
        new ValidationError(
          "lists-are-non-null",
          `The ${output ? "field" : "input field or argument"} \`${parent}.${field.name.value}\` ` +
            `is \`${spell(outer)}\`: lists are ${output ? "`[Item!]!`" : "`[Item!]`"}.`,
          [field],
        ),
      );
    }
  }
  function fields(node) {
    for (const field of node.fields || []) {
      check(node.name.value, field, true);
      for (const arg of field.arguments || []) check(`${node.name.value}.${field.name.value}`, arg, false);
    }
  }
  return {
    ObjectTypeDefinition: fields,
    InterfaceTypeDefinition: fields,
    InputObjectTypeDefinition(node) {
      for (const field of node.fields || []) check(node.name.value, field, false);
    },
  };
}

// A query field that looks one object up by `id` returns a nullable type: a missing object,
// or another user's, is `null` without an error, and its siblings in the query still answer.
function LookupsAreNullable(context) {
  return {
    ObjectTypeDefinition(node) {
      if (node.name.value !== rootName(context, "getQueryType")) return;
      for (const field of node.fields || []) {
        const byId = (field.arguments || []).some((arg) => arg.name.value === "id");
        if (byId && field.type.kind === "NonNullType") {
          context.reportError(
            new ValidationError(
              "lookups-are-nullable",
              `The lookup \`${field.name.value}(id:)\` must return a nullable type ` +
                "(null when missing or not the caller's).",
              [field],
            ),
          );
        }
      }
    },
  };
}

// Connections carry `totalCount: Int!` and the `nodes: [Item!]!` shortcut next to `edges`.
function ConnectionsHaveTotalCount(context) {
  return {
    ObjectTypeDefinition(node) {
      const name = node.name.value;
      if (!name.endsWith("Connection")) return;
      const byName = Object.fromEntries((node.fields || []).map((f) => [f.name.value, f]));
      const total = byName.totalCount ? spell(byName.totalCount.type) : null;
      const nodes = byName.nodes ? spell(byName.nodes.type) : null;
      if (total !== "Int!" || !nodes || !/^\[\w+!\]!$/.test(nodes)) {
        context.reportError(
          new ValidationError(
            "connections-have-total-count",
            `The connection \`${name}\` must have \`totalCount: Int!\` and \`nodes: [Item!]!\`.`,
            [node],
          ),
        );
      }
    },
  };
}

module.exports = {
  MutationsTakeOneInput,
  MutationPayloadsHaveUserErrors,
  InputTypesEndInInput,
  ListsAreNonNull,
  LookupsAreNullable,
  ConnectionsHaveTotalCount,
};
