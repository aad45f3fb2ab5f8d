// GraphQL over HTTP (queries and mutations) with the signed-in credentials.

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; ") || "GraphQL error");
    this.errors = errors;
    this.code = errors[0]?.extensions?.code || "";
  }
}

/** A mutation answered `userErrors`: things the user can fix, each naming its field. */
export class UserErrors extends Error {
  constructor(userErrors) {
    super(userErrors.map(describeUserError).join("; "));
    this.userErrors = userErrors;
  }
}

export function describeUserError(error) {
  const field = (error.field || []).filter((part) => part !== "input").join(".");
  return field ? `${field}: ${error.message}` : error.message;
}

export class Api {
  /**
   * @param {string} endpoint the GraphQL URL
   * @param {() => string | null} token the bearer token (a JWT or an API key)
   * @param {(error: GraphQLError) => void} onUnauthenticated called when the server
   *   refuses the credentials (expired or revoked), before the error is thrown
   */
  constructor(endpoint, token, onUnauthenticated) {
    this.endpoint = endpoint;
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
  }

  async request(query, variables = {}, { token } = {}) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    const bearer = token ?? this.token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new Error(`The server cannot be reached (${error.message}).`);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new Error(`The server answered ${response.status} without GraphQL JSON.`);
    }
    if (body.errors?.length) {
      const error = new GraphQLError(body.errors);
      if (error.code === "UNAUTHENTICATED" && token === undefined) this.onUnauthenticated?.(error);
      throw error;
    }
    return body.data;
  }

  /** Run a mutation and return its payload; `userErrors` become a thrown UserErrors. */
  async mutate(query, input, field) {
    const data = await this.request(query, { input });
    const payload = data[field];
    if (payload?.userErrors?.length) throw new UserErrors(payload.userErrors);
    return payload;
  }
}
