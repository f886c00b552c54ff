// Forms with data-confirm ask before they submit (destructive actions), without inline handlers, so the pages
// work under a Content-Security-Policy that allows no inline script.
document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !confirm(form.dataset.confirm)) e.preventDefault();
});
