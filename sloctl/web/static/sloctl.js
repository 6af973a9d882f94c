// sloctl's only script: small conveniences. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms submit as soon as a select changes (the button stays for keyboards).
  for (const select of document.querySelectorAll("form[data-autosubmit] select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // Ask before an action that pages or tells people.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
