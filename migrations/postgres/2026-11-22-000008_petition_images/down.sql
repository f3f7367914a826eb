DROP TABLE petition_images;
