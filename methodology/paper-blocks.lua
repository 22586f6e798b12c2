-- Format-specific blocks of the PMM paper, for Quarto and for the pandoc + typst fallback.
--
-- The paper's source carries no raw HTML or typst (pmm_lib.reporting.safety rejects raw content);
-- instead, a few fenced divs name what they are, and this filter writes them for the output format:
--   ::: {.pagebreak}      a page break in the PDF (nothing in HTML)
--   ::: {.contents}       the PDF's table of contents here (HTML has its sidebar)
--   ::: {.html-only ...}  kept in HTML (banner, download links), dropped elsewhere

local function has(el, class)
  for _, c in ipairs(el.classes) do
    if c == class then return true end
  end
  return false
end

function Div(el)
  local html = FORMAT:match("html") ~= nil
  if has(el, "pagebreak") then
    if FORMAT == "typst" then return pandoc.RawBlock("typst", "#pagebreak()") end
    return {}
  end
  if has(el, "contents") then
    if FORMAT == "typst" then
      return pandoc.RawBlock("typst", "#outline(title: [Contents], depth: 2)")
    end
    return {}
  end
  if has(el, "html-only") and not html then
    return {}
  end
  return nil
end
