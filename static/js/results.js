// The results page: reloads itself when a report that is being made is ready, and prints on request.
const scoring = document.querySelector("#scoring");
if (scoring) {
  const id = scoring.dataset.sessionId;
  const poll = async () => {
    try {
      const r = await fetch(`/api/v1/sessions/${id}/report`, { headers: { Accept: "application/json" } });
      // 202 while the report is being made; 200 once it is stored.
      if (r.status === 200) {
        location.replace(location.pathname);
        return;
      }
    } catch (_) {
      // The server is restarting: try again.
    }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 1500);
}
for (const b of document.querySelectorAll("[data-print]")) b.addEventListener("click", () => window.print());
