// Sign in with a username and password (the `login` mutation) or with an API key
// (checked by asking `me` with it). Either way the result is a bearer token for the tab.

import { h } from "./dom.js";

const LOGIN = `mutation ConsoleLogin($input: LoginInput!) {
  login(input: $input) { accessToken user { username } }
}`;
const ME = `query ConsoleMe { me { username } }`;

function problem(error) {
  if (error.code === "UNAUTHENTICATED") return "Wrong username or password.";
  if (error.code === "RATE_LIMITED") return "Too many failed attempts: wait a few minutes.";
  return error.message;
}

export function signInView(ctx, { notice } = {}) {
  const alert = h("p", { class: "alert", role: "alert", id: "signin-error" });
  if (notice) alert.textContent = notice;

  const username = h("input", {
    id: "signin-username",
    name: "username",
    autocomplete: "username",
    required: true,
  });
  const password = h("input", {
    id: "signin-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const passwordForm = h(
    "form",
    { id: "signin-password-form", class: "card" },
    h("h2", {}, "Username and password"),
    h("label", { for: "signin-username" }, "Username"),
    username,
    h("label", { for: "signin-password" }, "Password"),
    password,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.textContent = "";
    try {
      const data = await ctx.api.request(
        LOGIN,
        { input: { username: username.value.trim(), password: password.value } },
        { token: null },
      );
      ctx.signedIn({
        token: data.login.accessToken,
        username: data.login.user.username,
        method: "password",
      });
    } catch (error) {
      alert.textContent = problem(error);
      password.focus();
    }
  });

  const key = h("input", {
    id: "signin-apikey",
    name: "apikey",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const keyForm = h(
    "form",
    { id: "signin-apikey-form", class: "card" },
    h("h2", {}, "API key"),
    h("label", { for: "signin-apikey" }, "Key (acl_…)"),
    key,
    h("button", { type: "submit" }, "Use key"),
  );
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.textContent = "";
    const token = key.value.trim();
    try {
      const data = await ctx.api.request(ME, {}, { token });
      ctx.signedIn({ token, username: data.me.username, method: "apikey" });
    } catch (error) {
      alert.textContent =
        error.code === "UNAUTHENTICATED" ? "The key was refused." : problem(error);
      key.focus();
    }
  });

  const element = h(
    "section",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Kept for this tab only (session storage). No account? Register with the ",
      h("code", {}, "register"),
      " mutation in GraphiQL or ",
      h("code", {}, "POST /api/v1/auth/register"),
      ".",
    ),
    alert,
    h("div", { class: "signin-forms" }, passwordForm, keyForm),
  );
  return { element, focus: () => username.focus() };
}
