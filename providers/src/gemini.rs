//! Google Gemini (Generative Language API), native `generateContent`. (Being written.)
