// The home page: a logged-in user's pages.
'use strict';
hotline.me.then(user => {
  if (!user) return;
  const box = hotline.$('home-pages');
  box.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = `Your pages, ${user.name}`;
  box.appendChild(h);
  const ul = document.createElement('ul');
  for (const p of user.pages) {
    const li = document.createElement('li'), a = document.createElement('a');
    a.href = p.path;
    a.textContent = p.title;
    li.appendChild(a);
    ul.appendChild(li);
  }
  box.appendChild(ul);
});
