// The signed-in credentials, kept in sessionStorage: they last as long as the tab
// (a reload keeps you signed in; closing the tab signs you out).

const KEY = "agentloom.console.session";

/** @returns {{token: string, username: string, method: "password" | "apikey"} | null} */
export function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return saved && typeof saved.token === "string" ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
