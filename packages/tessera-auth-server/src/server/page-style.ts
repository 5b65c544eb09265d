/** The self-service page's style sheet, served as /tessera-page.css. */
export const PAGE_STYLE = `\
:root { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2330; background: #f2f4f8; line-height: 1.45; }
body { margin: 0; }
header { background: #141a2b; color: #fff; }
header div { max-width: 52rem; margin: 0 auto; padding: .9rem 1rem; display: flex; align-items: baseline; gap: .75rem; }
header strong { font-size: 1.15rem; letter-spacing: .02em; }
header span { color: #aab3c8; font-size: .9rem; }
main { max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
section { background: #fff; border-radius: .75rem; padding: 1.25rem 1.5rem; margin: 1rem 0; box-shadow: 0 1px 3px #0002; }
#signed-out { max-width: 24rem; margin: 2rem auto; }
.muted { color: #5d667a; font-size: .92rem; margin: 0 0 .75rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input { width: 100%; box-sizing: border-box; padding: .55rem .6rem; border: 1px solid #b7bfd0; border-radius: .45rem; font: inherit; }
input:focus { outline: 2px solid #2f5bea55; border-color: #2f5bea; }
button { margin-top: 1rem; padding: .5rem 1rem; border: 0; border-radius: .45rem; background: #2f5bea; color: #fff; font: inherit; font-weight: 500; cursor: pointer; }
button:hover { filter: brightness(1.08); }
button.secondary { background: #e4e8f2; color: #1d2330; }
button.danger { background: #c62f3e; }
td button { margin: 0; padding: .3rem .75rem; font-size: .9rem; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
.facts dt { color: #5d667a; }
.facts dd { margin: 0; font-weight: 500; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th { color: #5d667a; font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
th, td { text-align: left; padding: .55rem .4rem; border-bottom: 1px solid #e8ebf2; vertical-align: middle; }
td:last-child { text-align: right; white-space: nowrap; }
.badge { background: #dff5e3; color: #17622a; border-radius: 1rem; padding: .15rem .65rem; font-size: .85rem; white-space: nowrap; }
[role=status] { min-height: 1.5rem; margin: 0; color: #8a1c27; }
[role=status].success { color: #17622a; }
[hidden] { display: none; }
`;
